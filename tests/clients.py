"""Clients acting as one user: `api(user)` for the API (authenticated without a token), `page(user)` for the pages
(signed in with a session). With no user, either is anonymous."""

from django.test import Client
from rest_framework.test import APIClient


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def page(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client
