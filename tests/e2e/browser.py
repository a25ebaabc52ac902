"""Headless Chromium for the page tests, driven by Selenium through the system chromedriver (no browser download):
one fresh profile per browser, flags that keep Chromium quiet on a closed network, screenshots as Pillow images,
and the platform fonts Chromium used for a node (DevTools CSS.getPlatformFontsForNode)."""

from __future__ import annotations

import io
import shutil
import tempfile
import time
from collections.abc import Callable
from typing import Any

from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars")
SIZE = (1280, 720)


class Browser:
    def __init__(self) -> None:
        self.profile = tempfile.mkdtemp(prefix="loa-test-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (*FLAGS, f"--window-size={SIZE[0]},{SIZE[1]}", f"--user-data-dir={self.profile}"):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",  # the viewport is the board: exactly SIZE
                                    {"width": SIZE[0], "height": SIZE[1], "deviceScaleFactor": 1, "mobile": False})

    def close(self) -> None:
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def text(self, element_id: str) -> str:
        return str(self.js("const e = document.getElementById(arguments[0]); return e ? e.textContent : null",
                           element_id) or "")

    def wait(self, predicate: Callable[[], Any], timeout: float, step: float = 0.05) -> float:
        """Seconds until predicate() held; raises AssertionError on timeout."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if predicate():
                return time.monotonic() - start
            time.sleep(step)
        raise AssertionError(f"not within {timeout} s")

    def screenshot(self) -> Image.Image:
        return Image.open(io.BytesIO(self.driver.get_screenshot_as_png())).convert("RGB")

    def fonts_of(self, selector: str) -> list[dict[str, Any]]:
        """The fonts Chromium actually rendered the node's text with (family, glyph count)."""
        root = self.driver.execute_cdp_cmd("DOM.getDocument", {})["root"]["nodeId"]
        node = self.driver.execute_cdp_cmd("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        self.driver.execute_cdp_cmd("CSS.enable", {})
        return list(self.driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"])


def region(image: Image.Image, box: tuple[int, int, int, int]) -> Image.Image:
    return image.crop(box)


def colours(image: Image.Image) -> int:
    """How many distinct colours: 1 means a blank region."""
    return len(image.getcolors(maxcolors=1 << 20) or [])


def close_to(pixel: tuple[int, ...], wanted: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, wanted))
