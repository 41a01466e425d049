class GatewayUnavailable(Exception):
    """The payment gateway refused for now (retried an hour later)."""
