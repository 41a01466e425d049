"""WebSocket ``/ws/jobs/``: a live stream of job status changes, for staff.

Authentication, the close codes and the re-checks while the socket is open are those of
``jobs.web.stream.authenticated`` (token in the ``Sec-WebSocket-Protocol`` header or a first
``{"action": "authenticate", "token": ...}`` message, or the session cookie; never
``?token=``; 4401 without a user, 4403 for a user who is not active staff).

By default a client receives every job's changes. To follow one job, connect to
``/ws/jobs/<job_id>/`` (or ``?job_id=``) or send ``{"action": "subscribe", "job_id": ...}``;
``{"action": "unsubscribe", "job_id": ...}`` and ``{"action": "subscribe_all"}`` also work.
Subscribing to a job answers with its current state first (``"type": "snapshot"``), then
each change arrives as ``{"type": "job", "job": {...}}``.
"""

import uuid
from urllib.parse import parse_qs

from channels.db import database_sync_to_async

from jobs.web.stream.authenticated import AuthenticatedJsonSocket
from jobs.web.stream.outage import TellsWhenStreamIsUnavailable
from jobs.web.stream.relay import ensure_relay, job_snapshots


class JobStreamConsumer(TellsWhenStreamIsUnavailable, AuthenticatedJsonSocket):
    staff_only = True

    async def on_authenticated(self, user) -> None:
        self.relay = await ensure_relay()
        self.joined: set[str] = set()
        self.following: set[str] = set()
        job_id = self.scope.get("url_route", {}).get("kwargs", {}).get("job_id")
        if job_id is None:
            query = parse_qs(self.scope.get("query_string", b"").decode())
            job_id = (query.get("job_id") or [None])[0]
        if job_id:
            await self.subscribe(str(job_id))
        else:
            await self.subscribe_all()

    async def on_disconnect(self) -> None:
        for group in list(getattr(self, "joined", set())):
            await self._leave(group)

    async def on_message(self, content) -> None:
        if not isinstance(content, dict):
            await self.send_error("message: send a JSON object with an action")
            return
        action = content.get("action")
        if action == "subscribe":
            await self.subscribe(content.get("job_id"))
        elif action == "unsubscribe":
            await self.unsubscribe(content.get("job_id"))
        elif action == "subscribe_all":
            await self.subscribe_all()
        else:
            await self.send_error(
                "action: use authenticate, subscribe, unsubscribe or subscribe_all"
            )

    # The relay is told who listens, so it reads and sends only what someone follows.
    async def _join(self, group: str, job_id: str | None = None) -> None:
        if group not in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined.add(group)
            if job_id is None:
                self.relay.listen_all(+1)
            else:
                self.relay.follow(job_id)
                self.following.add(job_id)

    async def _leave(self, group: str, job_id: str | None = None) -> None:
        if group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.joined.discard(group)
            if group == self.relay.all_group:
                self.relay.listen_all(-1)
            else:
                job_id = job_id or group.split(".")[1]
                self.relay.unfollow(job_id)
                self.following.discard(job_id)

    async def subscribe_all(self) -> None:
        for job_id in list(self.following):
            await self._leave(self.relay.job_group(job_id), job_id)
        await self._join(self.relay.all_group)
        await self.send_json({"type": "subscribed", "all": True, "jobs": []})

    async def subscribe(self, job_id) -> None:
        try:
            job_id = str(uuid.UUID(str(job_id)))
        except ValueError:
            await self.send_error("job_id: not a job id")
            return
        snapshot = (await database_sync_to_async(job_snapshots)([job_id])).get(job_id)
        if snapshot is None:
            await self.send_error(f"job_id: no job {job_id}")
            return
        # Following jobs replaces the everything-stream.
        await self._leave(self.relay.all_group)
        await self._join(self.relay.job_group(job_id), job_id)
        await self.send_json({"type": "subscribed", "all": False, "jobs": sorted(self.following)})
        await self.send_json({"type": "snapshot", "job": snapshot})

    async def unsubscribe(self, job_id) -> None:
        job_id = str(job_id)
        await self._leave(self.relay.job_group(job_id), job_id)
        await self.send_json({"type": "subscribed", "all": False, "jobs": sorted(self.following)})

    # --- from the relay --------------------------------------------------------------------
    async def job_update(self, message):
        if await self.allowed_now():
            await self.send_json({"type": "job", "job": message["job"]})
