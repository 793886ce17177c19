"""The web console in a real headless Chromium (Debian's, driven by Playwright), with screenshots.

Screenshots land in tests/_artifacts/ (git-ignored). Skips with the reason when /usr/bin/chromium or
the Playwright package is missing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.server.conftest import ThreadServer
from tests.server.test_tenancy import DOC

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "_artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


def test_console_ask_documents_audit_tokens(tmp_path: Path, echo_url: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package")
    pytest.importorskip("qdrant_edge", reason="needs the embedded store (hanstack[retrieval])")
    from hanstack.config import load_settings
    from hanstack.server.app import create_app

    app = create_app(load_settings(tmp_path / "ws", models={"endpoints": {"echo": echo_url}}))
    _, key = app.state.gateway.keys.create(tenant="acme", role="admin")
    ARTIFACTS.mkdir(exist_ok=True)
    upload = tmp_path / "요금안내.md"
    upload.write_text(DOC, encoding="utf-8")
    profile = tmp_path / "chromium-profile"
    with ThreadServer(app) as srv, sync_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=ARGS,
            headless=True,
            locale="ko-KR",
            viewport={"width": 1280, "height": 900},
        )
        try:
            page = ctx.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(srv.url + "/")  # redirects to the console
            page.fill("#api-key", key)
            page.click("#key-form button")
            page.wait_for_selector("#whoami.ok", timeout=20_000)
            assert "acme" in page.inner_text("#whoami")

            # documents: upload through the form, then browse
            page.click("nav button[data-tab=docs]")
            page.set_input_files("#upload-file", str(upload))
            page.click("#upload-form button")
            page.wait_for_selector("#docs-table tbody tr button[data-view]", timeout=120_000)
            page.click("#docs-table tbody tr button[data-view]")
            page.wait_for_selector("#doc-view .doc-text", timeout=20_000)
            assert "해지 위약금" in page.inner_text("#doc-view .doc-text")
            page.screenshot(path=str(ARTIFACTS / "console_documents.png"), full_page=True)

            # ask: the answer with its citations and the exact source spans highlighted
            page.click("nav button[data-tab=ask]")
            page.fill("#question", "해지하면 위약금은 어떻게 계산되나요?")
            page.select_option("#ask-model", "extractive")
            page.click("#ask-submit")
            page.wait_for_selector("#answer .source mark", timeout=120_000)
            marked = page.inner_text("#answer .source mark")
            assert "위약금" in marked
            assert page.locator("#answer .cite").count() >= 1
            page.screenshot(path=str(ARTIFACTS / "console_ask.png"), full_page=True)

            # audit: the tenant's records and a verified chain
            page.click("nav button[data-tab=audit]")
            page.wait_for_selector("#audit-table tbody tr td.hash", timeout=20_000)
            page.click("#audit-verify")
            page.wait_for_selector("#audit-status.ok", timeout=20_000)
            assert "검증 성공" in page.inner_text("#audit-status")
            page.screenshot(path=str(ARTIFACTS / "console_audit.png"), full_page=True)

            # tokenizer report (present when hanstack.tokenizers is installed)
            page.click("nav button[data-tab=tokens]")
            page.wait_for_selector(
                "#tokens-report table, #tokens-report:has-text('없습니다')", timeout=60_000
            )
            page.screenshot(path=str(ARTIFACTS / "console_tokens.png"), full_page=True)
            assert not errors, errors
        finally:
            ctx.close()
    shutil.rmtree(profile, ignore_errors=True)
