"""The situation map in a real browser (Debian's Chromium at /usr/bin/chromium, driven by
playwright-core from Node): the Aleppo offensive replayed with the time slider, a place's
details, and a newly published event appearing on the open page.

The browser is never one downloaded by a test tool: ``npm ci`` installs only playwright-core.
Screenshots go to tests/artifacts/ (docs/map.png is a kept copy of one, for the README).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.stack import PUBLISHER_TOKEN

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_DIR = Path(__file__).resolve().parent / "browser"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
NODE = shutil.which("node")
NPM = shutil.which("npm")

if not CHROMIUM.exists():
    pytest.skip(
        f"no Chromium at {CHROMIUM}: apt-get install chromium (bash .ci/run does)",
        allow_module_level=True,
    )
if NODE is None or NPM is None:
    pytest.skip(
        "node and npm are needed to drive the browser: apt-get install nodejs npm",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def playwright_core() -> None:
    """playwright-core from the lock file, installed on first use (no browser is downloaded)."""
    if (BROWSER_DIR / "node_modules" / "playwright-core").is_dir():
        return
    assert NPM is not None
    installed = subprocess.run(
        [NPM, "ci", "--no-audit", "--no-fund"],
        cwd=BROWSER_DIR,
        env={**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr


def test_the_map_replays_the_offensive_and_follows_new_reports(
    running: tuple[str, dict[str, str]], playwright_core: None
) -> None:
    url, _ = running
    assert NODE is not None
    checked = subprocess.run(
        [NODE, "check_map.mjs"],
        cwd=BROWSER_DIR,
        env={
            **os.environ,
            "MAP_URL": f"{url}/map",
            "API_URL": url,
            "PUBLISHER_TOKEN": PUBLISHER_TOKEN,
            "ARTIFACTS": str(ARTIFACTS),
            "CHROMIUM": str(CHROMIUM),
        },
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert (ARTIFACTS / "map.png").stat().st_size > 10_000
