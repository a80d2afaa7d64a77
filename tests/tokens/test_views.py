"""The agency's API tokens page: administrators list, create (the key shown once) and revoke; nobody sees keys."""

import re

import pytest
from django.contrib.admin.sites import site

from audit.models import AuditEvent
from tokens import services
from tokens.models import ApiToken

PAGE = "/agencies/home-council/tokens/"


def signed_in(client, user):
    client.force_login(user)
    return client


def created_key(response) -> str:
    return re.search(r'id="new-token-key" type="text" value="([0-9a-f]{64})"', response.content.decode()).group(1)


@pytest.mark.django_db
class AgencyTokensPageTests:
    def test_anonymous_visitors_are_sent_to_sign_in(self, client, council):
        response = client.get(PAGE)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")

    def test_people_who_are_not_its_administrators_get_403(self, client, people):
        for who in ("officer", "other_admin"):
            response = signed_in(client, people[who]).get(PAGE)
            assert response.status_code == 403
            assert "Only administrators of Home City Council can see and manage its API tokens" in response.text

    def test_an_unknown_agency_is_404(self, client, people):
        assert signed_in(client, people["admin"]).get("/agencies/nowhere/tokens/").status_code == 404

    def test_create_shows_the_key_once_and_the_list_never(self, client, people):
        client = signed_in(client, people["admin"])
        response = client.post(PAGE, {"name": "Case management system", "days": "30"})
        assert response.status_code == 201
        assert "no-store" in response["Cache-Control"]
        key = created_key(response)
        assert client.get("/api/v1/legal-bases/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
        listed = client.get(PAGE)
        text = listed.content.decode()
        assert "Case management system" in text and "home-admin" in text
        assert key not in text and key[:15] not in text
        token = ApiToken.objects.get()
        assert token.digest not in text
        assert abs((token.expiry - token.created).total_seconds() - 30 * 86400) < 60
        # A second administrator sees it, and when it was last used.
        second = signed_in(client, people["second_admin"]).get(PAGE).content.decode()
        assert "Case management system" in second and "Never" not in second

    def test_regression_the_list_names_an_invited_creator_by_username(self, client, council, people):
        from accounts.services import user_profile_update

        user_profile_update(user=people["admin"], full_name="Asha Patel", job_title="ICT Lead")
        services.token_create(actor=people["admin"], user=people["admin"], name="Case system", agency=council)
        text = signed_in(client, people["second_admin"]).get(PAGE).content.decode()
        assert "Asha Patel" in text

    def test_a_missing_name_is_a_clear_error_and_nothing_is_made(self, client, people):
        response = signed_in(client, people["admin"]).post(PAGE, {"name": "", "days": "90"})
        assert response.status_code == 400
        assert "Enter a name for the token, such as the system that will use it" in response.text
        assert not ApiToken.objects.exists()

    def test_an_expiry_beyond_the_limit_is_refused(self, client, people, settings):
        settings.API_TOKEN_MAX_DAYS = 90
        response = signed_in(client, people["admin"]).post(PAGE, {"name": "Portal", "days": "365"})
        assert response.status_code == 400
        assert "Choose when the token expires" in response.text
        assert not ApiToken.objects.exists()

    def test_revoke_asks_then_revokes(self, client, council, people):
        token, key = services.token_create(actor=people["admin"], user=people["admin"], name="Portal", agency=council)
        client = signed_in(client, people["second_admin"])
        url = f"{PAGE}{token.pk}/revoke/"
        assert "Are you sure you want to revoke the token “Portal”?" in client.get(url).text
        response = client.post(url)
        assert response.status_code == 302
        assert client.get("/api/v1/legal-bases/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
        assert AuditEvent.objects.filter(action="token.revoked", actor_name="home-admin-2").exists()

    def test_another_agencys_token_cannot_be_revoked_through_this_page(self, client, council, people):
        token, _ = services.token_create(actor=people["admin"], user=people["admin"], name="Portal", agency=council)
        client = signed_in(client, people["other_admin"])
        assert client.post(f"/agencies/other-trust/tokens/{token.pk}/revoke/").status_code == 404
        assert client.post(f"{PAGE}{token.pk}/revoke/").status_code == 403
        assert ApiToken.objects.filter(pk=token.pk).exists()

    def test_the_list_costs_the_same_queries_for_3_or_30_tokens(self, client, council, people,
                                                                django_assert_max_num_queries):
        client = signed_in(client, people["admin"])
        for n in range(3):
            services.token_create(actor=people["admin"], user=people["admin"], name=f"System {n}", agency=council)
        client.get(PAGE)
        for n in range(27):
            services.token_create(actor=people["second_admin"], user=people["second_admin"], name=f"More {n}",
                                  agency=council)
        # session, user, guardian's permission checks, the agency, the list.
        with django_assert_max_num_queries(11):  # with the header's unread notifications
            assert client.get(PAGE).status_code == 200


@pytest.mark.django_db
class TokenAdminTests:
    def test_the_django_admin_lists_tokens_without_keys(self, client, council, people):
        _, key = services.token_create(actor=people["admin"], user=people["admin"], name="Portal", agency=council)
        token = ApiToken.objects.get()
        response = signed_in(client, people["superuser"]).get("/admin/tokens/apitoken/")
        assert response.status_code == 200
        assert "Portal" in response.text
        for secret in (key, token.digest, token.token_key):
            assert secret not in response.text
        detail = client.get(f"/admin/tokens/apitoken/{token.pk}/change/").text
        for secret in (key, token.digest, token.token_key):
            assert secret not in detail

    def test_drf_authtokens_are_no_longer_in_the_admin(self):
        assert not any(model._meta.app_label == "authtoken" for model in site._registry)

    def test_deleting_in_the_django_admin_is_an_audited_revocation(self, client, council, people):
        services.token_create(actor=people["admin"], user=people["admin"], name="Portal", agency=council)
        token = ApiToken.objects.get()
        client = signed_in(client, people["superuser"])
        response = client.post("/admin/tokens/apitoken/", {"action": "delete_selected", "_selected_action": [token.pk],
                                                           "post": "yes"})
        assert response.status_code == 302
        assert not ApiToken.objects.exists()
        event = AuditEvent.objects.get(action="token.revoked")
        assert (event.actor_name, event.detail["reason"]) == ("root", "revoked")
