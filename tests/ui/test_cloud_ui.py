"""The cloud in the web chat, in a real browser: a second Ember on loopback is this
server's cloud provider ``cloudy`` and the policy is ``ask``. Picking its model asks
first; the page shows what would be sent (the e-mail address replaced), sends it when
told, shows where the answer was computed and what was redacted, and lists what left
this machine. A local answer whose tools failed offers the cloud model under it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ember.config import load_settings
from ember.runtime import build
from tests.server.conftest import serving
from tests.ui.conftest import MODEL, open_app, sync_api
from tests.ui.test_web_ui import last_answer, send, set_chat_settings

expect = sync_api.expect
CLOUD_MODEL = f"cloudy/{MODEL}"
EMAIL = "jane.doe@example.org"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Iterator[str]:
    cloud = build(load_settings(home=tmp_path_factory.mktemp("ui-cloud")))
    cloud.models.pull(str(smollm2_path), name=MODEL)
    with serving(cloud) as cloud_url:
        front = build(
            load_settings(
                home=tmp_path_factory.mktemp("ui-front"),
                default_model=MODEL,
                cloud_policy="ask",
                cloud_model=CLOUD_MODEL,
                remotes=[{"name": "cloudy", "base_url": cloud_url, "cloud": True}],
            )
        )
        front.models.pull(str(smollm2_path), name=MODEL)
        with serving(front) as url:
            yield url
        front.close()
    cloud.close()


def test_ask_shows_what_leaves_sends_when_told_and_logs_it(page: Any) -> None:
    open_app(page)
    page.get_by_label("Model", exact=True).select_option(CLOUD_MODEL)
    set_chat_settings(page, Max_tokens="12", Temperature="0")
    send(page, f"Write one line to {EMAIL} about lunch.")
    asked = last_answer(page)
    expect(asked).to_have_attribute("data-status", "error", timeout=60_000)
    expect(asked.locator(".cloud-question")).to_contain_text(f"{CLOUD_MODEL} is a cloud model")
    expect(asked.locator(".badge-warn")).to_contain_text("waiting for your OK")

    asked.get_by_role("button", name="Show what will be sent").click()
    preview = asked.locator(".cloud-preview")
    expect(preview).to_contain_text("[EMAIL_1]")
    expect(preview).to_contain_text("1 pii.email")
    assert EMAIL not in preview.text_content()

    asked.get_by_role("button", name="Send to the cloud").click()
    answer = last_answer(page)
    expect(answer).to_have_attribute("data-status", "complete", timeout=60_000)
    expect(answer.locator(".badge-cloud")).to_contain_text("cloud: cloudy")
    expect(answer.locator(".redacted")).to_contain_text("1 pii.email")

    page.get_by_role("button", name="What left this machine").click()
    log = page.locator("#cloud-log")
    expect(log).to_be_visible()
    row = log.locator("tr.egress").first
    expect(row).to_contain_text(f"cloudy/{MODEL}")
    expect(row).to_contain_text("sent")
    expect(row).to_contain_text("1 pii.email")
    assert EMAIL not in log.text_content()


def test_a_local_answer_whose_tools_failed_offers_the_cloud(page: Any, base_url: str) -> None:
    # SmolLM2's template does not teach tools, so the page offers them only when the
    # conversation asks for them (its "tools" setting).
    created = httpx.post(
        f"{base_url}/ember/api/conversations",
        json={"model": MODEL, "settings": {"tools": True, "max_tokens": 24, "temperature": 0}},
    )
    created.raise_for_status()
    open_app(page, f"/#/c/{created.json()['conversation']['id']}")
    send(page, "What is 9 / 0?")
    local = last_answer(page)
    expect(local).to_have_attribute("data-status", "complete", timeout=120_000)
    expect(local.locator(".cloud-offer")).to_contain_text("did not manage the tools")
    offer = local.get_by_role("button", name=f"Ask {CLOUD_MODEL}")
    expect(offer).to_be_visible()
    local.get_by_role("button", name="Show what will be sent").click()
    expect(local.locator(".cloud-preview")).to_contain_text("9 / 0")
    expect(local.locator(".cloud-preview")).to_contain_text("Tools offered with it: calculator")

    offer.click()
    answer = last_answer(page)
    expect(answer.locator(".badge-cloud")).to_contain_text("you asked", timeout=120_000)
    expect(answer).to_have_attribute("data-status", "complete")
