"""A person in a real browser (Debian's Chromium, headless, driven by Selenium through the
system chromedriver) fills in the web form `sheetpipe serve` serves; the next cycle makes
the deal (sheetpipe/web/serve.py)."""

from __future__ import annotations

import shutil
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from sheetpipe.web.journal import Journal
from sheetpipe.web.serve import FormRules

from .test_serve import sheet, sync, workbook

pytestmark = pytest.mark.skipif(
    not (shutil.which("chromium") and shutil.which("chromedriver")),
    reason="Chromium and chromedriver: `python -m tests.system_packages` installs them",
)


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def type_into(driver, **fields) -> None:
    for name, value in fields.items():
        driver.find_element(By.NAME, name).send_keys(value)


def test_a_person_fills_in_the_form_in_a_browser_and_a_cycle_makes_the_deal(
    tmp_path,
    serve,
    browser,
):
    path = workbook(tmp_path)
    base, journal = serve(FormRules(min_seconds=1), Journal(tmp_path / "journal.sqlite"))
    browser.get(f"{base}/form")
    assert browser.title == "Get in touch"
    trap = browser.find_element(By.NAME, "sp_hp_url_confirm")
    assert not trap.is_displayed(), "a person never sees the honeypot"
    type_into(browser, Name="Cara Diaz", Email="cara@beta.example", Company="Beta Ltd",
              Message="Please call me\nafter 3pm")  # fmt: skip
    time.sleep(1.1)  # as long as a person takes, at least
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    done = WebDriverWait(browser, 20).until(  # the click's page load ends in its own time
        lambda b: b.find_element(By.TAG_NAME, "h1").text == "Thank you"
    )
    assert done
    [waiting] = journal.waiting()
    assert waiting.fields["Message"] == "Please call me\nafter 3pm"
    sync(path)
    deal = sheet(tmp_path, "Deals")[-1]
    assert (deal["Deal"], deal["Contact"], deal["Email"]) == (
        "Beta Ltd", "Cara Diaz", "cara@beta.example")  # fmt: skip


def test_a_mistake_comes_back_with_what_to_correct_and_hostile_text_never_runs(
    tmp_path,
    serve,
    browser,
):
    base, journal = serve(FormRules(min_seconds=0), Journal(tmp_path / "journal.sqlite"))
    browser.get(f"{base}/form")
    hostile = '"><img src=x onerror="window.hacked=1">'
    browser.execute_script("document.querySelector('[name=Email]').type = 'text'")
    type_into(browser, Name=hostile, Email="not an address")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    found = WebDriverWait(browser, 20).until(
        expected_conditions.presence_of_element_located((By.CLASS_NAME, "problems"))
    )
    problems = found.text
    assert problems == "The e-mail address is not valid."
    assert browser.find_element(By.NAME, "Name").get_attribute("value") == hostile
    assert browser.execute_script("return window.hacked") is None
    assert journal.waiting() == []
