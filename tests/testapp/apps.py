from django.apps import AppConfig


class TestAppConfig(AppConfig):
    """Tasks and a side-effect table used only by the test suite's workers."""

    name = "tests.testapp"
    label = "testapp"
