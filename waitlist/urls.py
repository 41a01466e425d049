"""Tenant-scoped waitlist API, mounted at /api/waitlist/."""

from django.urls import path

from waitlist import views

app_name = "waitlist"

tenant = "tenants/<slug:tenant>/"

urlpatterns = [
    path("tenants/", views.TenantListView.as_view(), name="tenant-list"),
    path(tenant, views.TenantDetailView.as_view(), name="tenant-detail"),
    path(f"{tenant}slots/", views.SlotListView.as_view(), name="slot-list"),
    path(f"{tenant}slots/<int:pk>/", views.SlotDetailView.as_view(), name="slot-detail"),
    path(f"{tenant}slots/<int:pk>/cancel/", views.SlotCancelView.as_view(), name="slot-cancel"),
    path(f"{tenant}entries/", views.EntryListView.as_view(), name="entry-list"),
    path(f"{tenant}entries/<int:pk>/", views.EntryDetailView.as_view(), name="entry-detail"),
    path(f"{tenant}entries/<int:pk>/cancel/", views.EntryCancelView.as_view(), name="entry-cancel"),
    path(f"{tenant}holds/", views.HoldListView.as_view(), name="hold-list"),
    path(f"{tenant}holds/<int:pk>/", views.HoldDetailView.as_view(), name="hold-detail"),
    path(f"{tenant}holds/<int:pk>/confirm/", views.HoldConfirmView.as_view(), name="hold-confirm"),
    path(f"{tenant}holds/<int:pk>/decline/", views.HoldDeclineView.as_view(), name="hold-decline"),
]
