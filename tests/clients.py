"""Clients acting as one user: `api(user)` for the API (authenticated without a token), `token_api(user)` for the
API as integrations call it (a real token, each request loading the user afresh), `page(user)` for the pages (signed
in with a session). With no user, each is anonymous."""

from django.test import Client
from rest_framework.test import APIClient

from tests.factories import api_key


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def token_api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_key(user)}")
    return client


def page(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client
