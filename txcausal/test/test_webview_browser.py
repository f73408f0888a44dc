"""
The web view end to end, in real headless Chromium driven by Selenium:
C{txcausal web} serves real files on loopback, and the tests read the page
as a person would see it.

Skipped, saying why, where Chromium, chromedriver or Selenium is missing
(on Debian: C{apt-get install -y chromium chromium-driver}; Selenium comes
with the C{test} extra).  The screenshot of the task page is kept in
C{$TXCAUSAL_ARTIFACTS} when set, else in the test's temporary directory.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple

from twisted.trial.unittest import SkipTest, TestCase

from txcausal._cli._text import clean

from ._webview_logs import (
    ESCAPED_TEXT,
    FAILING,
    HOSTILE,
    JOINED,
    MARKUP,
    MARKUP_TEXT,
    RLO,
    append_log,
    client_messages,
    finished,
    hostile_messages,
    message,
    server_messages,
    started,
    write_log,
)
from ._webview_server import start_web

#: What Chromium needs to start in a closed network without hanging.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,900",
]
#: 2024-05-01 10:00 UTC: the logs' times.
MAY_DAY = 1714557600.0
#: A bound on each wait for the page, not a speed target.
WAIT = 60
#: Puts the page's requests in the test's hands: C{window.mode} "hold"
#: keeps each one until C{window.release()}, "fail" fails them (as a lost
#: connection does), "pass" lets them through.
HOLD_REQUESTS = """
window.mode = "pass"; window.held = [];
var realFetch = window.fetch;
window.fetch = function (url, options) {
  if (window.mode === "fail") { return Promise.reject(new TypeError("connection lost")); }
  if (window.mode === "pass") { return realFetch(url, options); }
  return new Promise(function (resolve, reject) {
    window.held.push(function () {
      if (window.mode === "fail") { reject(new TypeError("connection lost")); }
      else { resolve(realFetch(url, options)); }
    });
  });
};
window.release = function () {
  var held = window.held; window.held = [];
  held.forEach(function (f) { f(); });
};
"""


def _binary(*names: str) -> Optional[str]:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def _missing() -> Optional[str]:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "Selenium is not installed (pip install '.[test]')"
    if _binary("chromium", "chromium-browser") is None:
        return "Chromium is not installed (apt-get install -y chromium chromium-driver)"
    if _binary("chromedriver") is None:
        return "chromedriver is not installed (apt-get install -y chromium-driver)"
    return None


def loaded(driver: Any, uuid: str) -> bool:
    """
    Whether the page shows task C{uuid}.
    """
    return bool(driver.find_element("tag name", "body").get_attribute("data-loaded") == uuid)


class BrowserCase(TestCase):
    """
    The page in Chromium: the logs of L{txcausal.test._webview_logs}
    served by a real C{txcausal web}, and ways to read the page.
    """

    def setUp(self) -> None:
        reason = _missing()
        if reason is not None:
            raise SkipTest(reason)
        self.driver = self.start_chromium()
        self.dir = Path(self.mktemp())
        self.dir.mkdir(parents=True)
        self.client = write_log(self.dir / "client.log", client_messages(MAY_DAY))
        self.server = write_log(self.dir / "server.log", server_messages(MAY_DAY))
        _, self.address = start_web([str(self.client), str(self.server)], self)

    def start_chromium(self) -> Any:
        """
        Chromium with a fresh profile, quit when the test ends.
        """
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = _binary("chromium", "chromium-browser")  # type: ignore[assignment]
        profile = tempfile.mkdtemp(prefix="txcausal-chromium-")
        self.addCleanup(_remove_profile, profile)
        for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options,
                                  service=Service(executable_path=_binary("chromedriver")))
        self.addCleanup(driver.quit)
        driver.set_page_load_timeout(WAIT)
        return driver

    def wait(self, condition: Callable[[Any], Any]) -> Any:
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, WAIT).until(condition)

    def open_task(self, uuid: str) -> None:
        self.driver.get(self.address + "task/" + uuid)
        self.wait(lambda d: d.find_element("tag name", "body").get_attribute("data-loaded") == uuid)

    def open_whole_task(self, uuid: str) -> None:
        """
        Open a task's page and wait until it shows the whole task: a page
        can first load while the server is still reading a large file (it
        reads a chunk at a time, serving pages in between), then draws the
        task again as the rest comes.
        """
        self.open_task(uuid)
        self.wait(lambda d: "complete" in d.find_element("id", "task-meta").text.split(" \u00b7 "))

    def rows(self) -> List[str]:
        # One script, so that a refresh of the list cannot come between.
        return self.driver.execute_script(  # type: ignore[no-any-return]
            "return Array.from(document.querySelectorAll('#tasks tbody tr'))"
            ".map(function (row) { return row.dataset.uuid; });")

    def read(self, selector: str, script: str) -> List[Any]:
        """
        Read every element matching C{selector} in one script (the page
        may redraw between two calls): C{script} is an expression of C{e}.
        """
        return self.driver.execute_script(  # type: ignore[no-any-return]
            f"return Array.from(document.querySelectorAll({selector!r}))"
            f".map(function (e) {{ return {script}; }});")

    def big_integers_shown(self) -> Tuple[str, List[str], List[str]]:
        """
        Append to the client's log integers past 2**53: in the fields of a
        message (alone and in a list, next to other numbers), as the start
        of a task, in a task level; open the pages that show them.

        @return: The task list's text, the field values of the first task
            (sorted), the task levels of the third.
        """
        uuid = "7b1f2a34-0000-4000-8000-0000000000b1"
        far = "7b1f2a34-0000-4000-8000-0000000000b2"
        odd = "7b1f2a34-0000-4000-8000-0000000000b3"
        big = message(uuid, [1], MAY_DAY + 5, message_type="big", n=2**70 + 1,
                      m=[-(2**64) - 1, 2**53 - 1], f=0.5, e=1e300)
        messages = [big, message(far, [1], 2**70 + 1, message_type="far")]
        messages += [message(odd, level, MAY_DAY + 6, message_type="odd")
                     for level in ([1], [2**70 + 3])]
        with self.client.open("ab") as f:
            f.writelines(json.dumps(m).encode("ascii") + b"\n" for m in messages)
        self.driver.get(self.address)
        self.wait(lambda d: far in self.rows())
        listed = self.driver.find_element("id", "tasks").text
        self.open_task(uuid)
        values = sorted(self.read("#tree dd", "e.textContent"))
        self.open_task(odd)
        return listed, values, self.read("#tree .node .level", "e.textContent")

    def search(self, text: str) -> None:
        box = self.driver.find_element("id", "f-q")
        box.clear()
        box.send_keys(text)
        self.driver.find_element("css selector", "#filters button[type=submit]").click()


class BrowserTests(BrowserCase):
    """
    The page in Chromium.
    """

    def test_joinedTreeAndWaterfall(self) -> None:
        """
        The task page shows one tree for the two processes' files, and a
        waterfall with one bar per action, in tree order, as wide as each
        action's share of the task, colored by process.
        """
        self.open_task(JOINED)
        nodes = self.read("#tree .node", "[e.dataset.level, e.querySelector('.type').textContent]")
        self.assertEqual(nodes, [["", "client:fetch"], ["/2", "eliot:remote_task"],
                                 ["/2/2", "server:work"]])
        chips = self.read("#tree .proc", "e.textContent")
        self.assertEqual(chips, ["client.log", "server.log", "server.log"])
        bars = self.read("#rows .bar", "[e.dataset.level, e.getBoundingClientRect().left,"
                         " e.getBoundingClientRect().width, e.className]")
        self.assertEqual([b[0] for b in bars], ["", "/2", "/2/2"])
        widths = [b[2] for b in bars]
        self.assertClose(widths[1] / widths[0], 0.6)
        self.assertClose(widths[2] / widths[0], 0.4)
        self.assertClose((bars[2][1] - bars[0][1]) / widths[0], 0.3)
        self.assertEqual([("p0" in b[3].split(), "p1" in b[3].split()) for b in bars],
                         [(True, False), (False, True), (False, True)])
        self.screenshot("webview-task.png")

    def assertClose(self, value: float, expected: float) -> None:
        """
        Within 2% of the whole task's width: a pixel or two.
        """
        self.assertLess(abs(value - expected), 0.02, f"{value} is not about {expected}")

    def screenshot(self, name: str) -> None:
        folder = Path(os.environ.get("TXCAUSAL_ARTIFACTS") or self.mktemp())
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        self.assertTrue(self.driver.save_screenshot(str(path)))
        self.assertEqual(path.read_bytes()[:8], b"\x89PNG\r\n\x1a\n")

    def test_failedOnly(self) -> None:
        """
        Ticking "failed only" leaves the failed task alone in the list.
        """
        self.driver.get(self.address)
        self.wait(lambda d: len(self.rows()) == 3)
        self.driver.find_element("id", "f-failed").click()
        self.wait(lambda d: self.rows() == [FAILING])
        self.assertIn("failed=1", self.driver.current_url)
        self.assertEqual(self.read("#tasks tbody .st", "e.textContent"), ["failed"])

    def test_dotTaskUUIDs(self) -> None:
        """
        Tasks whose UUIDs are the dot segments C{.} and C{..} (and other
        characters special in an address) open from their links in the
        list; a task's old address C{task/<uuid>} still opens it.
        """
        odd = ["..", ".", "a/b", "100%", "q?x=1", "h#f"]
        append_log(self.client, [message(uuid, [1], MAY_DAY + 7 + i, message_type=f"m{i}")
                                 for i, uuid in enumerate(odd)])
        for uuid in odd:
            self.driver.get(self.address)
            self.wait(lambda d: set(odd) <= set(self.rows()))
            self.driver.execute_script(
                "var uuid = arguments[0];"
                " Array.from(document.querySelectorAll('#tasks tbody tr')).filter(function (r) {"
                " return r.dataset.uuid === uuid; })[0].querySelector('a').click();", uuid)
            self.wait(functools.partial(loaded, uuid=uuid))
            self.assertIn(f"m{odd.index(uuid)}", self.driver.find_element("id", "tree").text)
        self.open_task(JOINED)

    def test_markupIsText(self) -> None:
        """
        A field holding markup is shown as those characters, and nothing
        in it runs.
        """
        self.open_task(MARKUP)
        values = self.read("#tree dd", "e.textContent")
        self.assertIn(MARKUP_TEXT, values)
        self.assertEqual(self.driver.find_elements("css selector", "#tree img, #tree script"), [])
        self.assertIsNone(self.driver.execute_script("return window.pwned;"))
        self.assertNotEqual(self.driver.title, "pwned")

    def test_invisibleCharactersShown(self) -> None:
        """
        Bidirectional overrides and control characters are shown escaped,
        as C{txcausal tree} shows them, so that none reverses or hides the
        text around it (a type ending in C{exe.png} on screen); a field
        named C{__proto__} is a field like any other (it forges no
        failure); a time past any calendar is shown as its number.  Every
        character C{tree} escapes (but newlines and tabs) is escaped alike.
        """
        append_log(self.client, hostile_messages())
        self.driver.get(self.address)
        self.wait(lambda d: HOSTILE in self.rows())
        text = self.driver.find_element("id", "tasks").text
        self.assertNotIn(RLO, text)
        self.assertIn("\\u202egnp.exe", text)
        self.assertNotIn("NaN", text)
        self.assertIn("1e+300", text)
        self.open_task(HOSTILE)
        self.assertNotIn(RLO, self.driver.find_element("tag name", "body").text)
        values = self.read("#tree dd", "e.textContent")
        self.assertIn("a\\x00b\\x1b[31mc\\rd", values)
        self.assertIn(clean(ESCAPED_TEXT), values)
        self.assertEqual(self.read("#tree .failure", "e.textContent"), [])
        self.assertEqual(self.read("#tree dt", "e.textContent").count("__proto__"), 2)

    def test_bigIntegersExact(self) -> None:
        """
        Integers past those a JavaScript number holds exactly (2**53) are
        shown with every digit, as the server sends them: a field's value,
        alone or inside a list, a start time past any calendar in the
        list, a stray message's task level; other numbers are shown as
        before.
        """
        listed, values, levels = self.big_integers_shown()
        self.assertIn("1180591620717411303425", listed)
        self.assertEqual(values, sorted(
            ["1180591620717411303425", "[-18446744073709551617,9007199254740991]", "0.5",
             "1e+300"]))
        # Used as text (a task level, joined), they are text too.
        self.assertEqual(levels, ["/1", "/1180591620717411303427"])

    def test_story(self) -> None:
        """
        The task page of the story of a key shows the story as C{txcausal
        story} does: the action that mentions the key is marked, and the
        page says whose story it is.
        """
        self.driver.get(self.address + "task/" + FAILING + "?story=950")
        self.wait(lambda d: d.find_element("tag name", "body").get_attribute("data-loaded")
                  == FAILING)
        nodes = self.read("#tree .node", "[e.dataset.level, e.classList.contains('match')]")
        self.assertEqual(nodes, [["", False], ["/2", True]])
        self.assertIn("story of 950", self.driver.find_element("id", "task-meta").text)

    def test_legendAndFailedRows(self) -> None:
        """
        The legend names the processes (files) of the task shown, not every
        file read; the waterfall marks the rows of failed actions.
        """
        self.open_task(FAILING)
        self.assertEqual(self.read("#legend [title]", "e.textContent"), ["client.log"])
        self.assertEqual(self.read("#rows .row", "e.classList.contains('failed')"), [True, True])

    def test_searchingIndicator(self) -> None:
        """
        While the task list's request is in flight, the page says
        "searching…"; the indicator goes when the answer comes, and when
        the request fails.
        """
        self.driver.get(self.address)
        self.wait(lambda d: len(self.rows()) == 3)
        self.driver.execute_script(HOLD_REQUESTS)
        indicator = self.driver.find_element("id", "searching")
        self.assertFalse(indicator.is_displayed())
        self.driver.execute_script("window.mode = 'hold';")
        self.search("resize")
        self.wait(lambda d: indicator.is_displayed())
        self.assertEqual(indicator.text, "searching\u2026")
        self.assertEqual(len(self.rows()), 3)
        self.driver.execute_script("window.mode = 'pass'; window.release();")
        self.wait(lambda d: self.rows() == [JOINED] and not indicator.is_displayed())
        self.driver.execute_script("window.mode = 'hold';")
        self.search("nothing-like-it")
        self.wait(lambda d: indicator.is_displayed())
        self.driver.execute_script("window.mode = 'fail'; window.release();")
        error = self.driver.find_element("id", "list-error")
        self.wait(lambda d: error.is_displayed() and not indicator.is_displayed())
        self.assertEqual(error.text, "connection lost")

    def test_liveAppend(self) -> None:
        """
        A task appended to a followed file appears in the open list
        without a reload.
        """
        self.driver.get(self.address)
        self.wait(lambda d: len(self.rows()) == 3)
        self.driver.execute_script("window.notReloaded = true;")
        self.wait(lambda d: d.find_element("id", "live").get_attribute("class") == "")
        later = "7b1f2a34-0000-4000-8000-0000000000ff"
        append_log(self.client, [started(later, [1], MAY_DAY + 60, "later:job")])
        self.wait(lambda d: later in self.rows())
        self.assertEqual(self.rows()[0], later)
        self.assertTrue(self.driver.execute_script("return window.notReloaded === true;"))

    def test_manyTabs(self) -> None:
        """
        Seven tabs of the view load (Chromium opens 6 connections to a
        host, and each shown page's event stream holds one: a hidden tab
        closes its stream); the first tab, shown again, shows what changed
        while it was hidden, and follows the changes again.
        """
        self.driver.get(self.address)
        self.wait(lambda d: len(self.rows()) == 3)
        first = self.driver.current_window_handle
        for uuid in [FAILING, MARKUP, JOINED, FAILING, MARKUP]:
            self.driver.switch_to.new_window("tab")
            self.driver.get(self.address + "task/" + uuid)
            self.wait(functools.partial(loaded, uuid=uuid))
        # The change is told to the tab in front (a list too), not again.
        self.driver.switch_to.new_window("tab")
        self.driver.get(self.address)
        self.wait(lambda d: len(self.rows()) == 3)
        later = "7b1f2a34-0000-4000-8000-0000000000fe"
        append_log(self.client, [started(later, [1], MAY_DAY + 60, "later:job")])
        self.wait(lambda d: later in self.rows())
        self.driver.switch_to.window(first)
        self.driver.execute_cdp_cmd("Page.bringToFront", {})
        self.wait(lambda d: d.execute_script("return document.visibilityState") == "visible")
        # Shown again, it follows the changes, those made while hidden too.
        self.wait(lambda d: later in self.rows())
        self.wait(lambda d: d.find_element("id", "live").get_attribute("class") == "")

    def test_bigTask(self) -> None:
        """
        A task of 10,000 nodes opens with a bounded part of it drawn: the
        waterfall draws the rows in view, the tree the first children of a
        wide node, and more on request; the page of children holding a
        failure (the 4,001st) is drawn too, and the one holding a bar's
        node when the bar is clicked, without the pages before them.
        """
        uuid = "7b1f2a34-0000-4000-8000-00000000b16b"
        messages = [started(uuid, [1], MAY_DAY, "batch")]
        for i in range(2, 5002):
            status = "failed" if i == 4002 else "succeeded"
            messages += [started(uuid, [i, 1], MAY_DAY + i, "item", n=i),
                         message(uuid, [i, 2], MAY_DAY + i, message_type="note"),
                         finished(uuid, [i, 3], MAY_DAY + i + 0.5, "item", status)]
        messages.append(finished(uuid, [5002], MAY_DAY + 5002, "batch"))
        append_log(self.client, messages)
        self.open_whole_task(uuid)
        self.assertLess(len(self.read("#rows .bar", "1")), 200)
        height = self.driver.find_element("id", "rows-inner").size["height"]
        self.assertEqual(height, 5001 * 20)
        self.driver.execute_script("var r = document.getElementById('rows');"
                                   " r.scrollTop = r.scrollHeight;")
        self.wait(lambda d: d.find_elements("css selector", '#rows .bar[data-level="/5001"]'))
        self.assertLess(len(self.read("#tree .node", "1")), 1000)
        self.assertEqual(len(self.read('#tree .node.failed[data-level="/4002"]', "1")), 1)
        self.assertEqual(self.read("#tree button.more", "e.textContent"),
                         ["show 200 more of 3800", "show 200 more of 800"])
        more = self.driver.find_element("css selector", "#tree button.more")
        more.click()
        self.wait(lambda d: "of 3600" in d.find_element("css selector", "#tree button.more").text)
        # A bar past the children drawn so far finds its node all the same,
        # its page of children built, not those before it.
        self.driver.find_element("css selector", '#rows .bar[data-level="/5001"]').click()
        self.wait(lambda d: d.find_elements("css selector", '#tree .node[data-level="/5001"]'))
        self.assertLess(len(self.read("#tree .node", "1")), 2000)
        self.assertEqual(self.read("#tree button.more", "e.textContent"),
                         ["show 200 more of 3600", "show 200 more of 600"])
        node = self.driver.find_element("css selector", '#tree .node[data-level="/5001"]')
        self.assertTrue(self.driver.execute_script(
            "var r = arguments[0].getBoundingClientRect();"
            " return r.top >= 0 && r.top < window.innerHeight;", node))

    def test_fileReportsApart(self) -> None:
        """
        What the following of the files reports (here: a file missing) is
        counted and listed apart from the lines skipped.
        """
        bad = self.dir / "bad.log"
        bad.write_bytes(b"not json\n")
        _, address = start_web([str(bad), str(self.dir / "missing.log")], self)
        self.driver.get(address)
        self.wait(lambda d: "file reports" in d.find_element("id", "status").text)
        status = self.driver.find_element("id", "status").text.split(" \u00b7 ")
        self.assertEqual(status[-2:], ["1 lines skipped", "1 file reports"])
        items = self.read("#problems-list li", "[e.className, e.textContent]")
        self.assertEqual([cls for cls, _ in items], ["mono file-problem", "mono"])
        self.assertTrue(items[0][1].endswith("missing.log: No such file or directory"), items)
        self.assertTrue(items[1][1].endswith("skipped: malformed JSON: 'not json'"), items)

    def test_longRemoteTaskLevels(self) -> None:
        """
        A C{remote_task_levels} of more than 10 levels (one per Dask task)
        is shown as C{txcausal tree} shows it, as its number, the first and
        the last, the whole list folded below; one of 10 is shown whole.  A
        level that is not a short string is written as compact JSON, cut at
        its first newline or after 100 characters with an ellipsis.
        """
        many, ten = "7b1f2a34-0000-4000-8000-00000000a001", "7b1f2a34-0000-4000-8000-00000000a002"
        odd = "7b1f2a34-0000-4000-8000-00000000a003"
        for uuid, count in [(many, 12), (ten, 10)]:
            levels = [f"/{i}" for i in range(2, count + 2)]
            append_log(self.client, [
                started(uuid, [1], MAY_DAY, "dask:compute"),
                finished(uuid, [count + 2], MAY_DAY + 1, "dask:compute",
                         remote_task_levels=levels)])
        # Over 80 characters as JSON (the web view's fields are pretty-printed
        # past that) and over 100 (cut); the last holds a newline.
        odd_levels: List[Any] = [list(range(40))] + [f"/{i}" for i in range(2, 12)] + ["x\ny"]
        append_log(self.client, [
            started(odd, [1], MAY_DAY, "dask:compute"),
            finished(odd, [2], MAY_DAY + 1, "dask:compute", remote_task_levels=odd_levels)])
        self.open_task(many)
        self.assertEqual(self.read("#tree dd summary", "e.textContent"),
                         ["12 levels, first /2, last /13"])
        folded = self.read("#tree dd pre", "JSON.parse(e.textContent)")
        self.assertEqual(folded, [[f"/{i}" for i in range(2, 14)]])
        self.open_task(ten)
        self.assertEqual(self.read("#tree dd summary", "e.textContent"), [])
        self.assertIn(json.dumps([f"/{i}" for i in range(2, 12)], separators=(",", ":")),
                      self.read("#tree dd", "e.textContent"))
        self.open_task(odd)
        first = json.dumps(list(range(40)), separators=(",", ":"))
        self.assertEqual(len(first), 111)
        self.assertEqual(self.read("#tree dd summary", "e.textContent"),
                         [f"12 levels, first {first[:100]}\u2026, last x\u2026"])

    def test_handedOffNotes(self) -> None:
        """
        A position handed off and read nowhere is said to be handed off to
        a process not read; one also listed in C{retried_task_levels}, cut
        off and sent again; one also listed in C{unsent_task_levels}, not
        sent, as C{txcausal tree} says.
        """
        uuid = "7b1f2a34-0000-4000-8000-00000000a101"
        append_log(self.client, [
            started(uuid, [1], MAY_DAY, "txcausal:http:client"),
            finished(uuid, [5], MAY_DAY + 1, "txcausal:http:client", "failed",
                     exception="twisted.internet.error.ConnectionRefusedError",
                     remote_task_levels=["/2", "/3", "/4"], retried_task_levels=["/2"],
                     unsent_task_levels=["/4"])])
        self.open_task(uuid)
        self.assertEqual(self.read("#tree .gap", "e.textContent"), [
            "cut off before a response, sent again: /2",
            "handed off to a process not read: /3",
            "not sent: no connection was made: /4"])


def _chromium_using(profile: str) -> bool:
    """
    Whether a process of Chromium still runs with C{profile}.
    """
    flag = f"--user-data-dir={profile}".encode()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if flag in f.read().split(b"\0"):
                    return True
        except OSError:
            pass
    return False


def _remove_profile(profile: str) -> None:
    """
    Remove Chromium's profile once no process of Chromium uses it: quitting
    returns before they have exited, and they write there as they exit.
    """
    deadline = time.monotonic() + WAIT
    while _chromium_using(profile) and time.monotonic() < deadline:
        time.sleep(0.05)
    shutil.rmtree(profile, ignore_errors=True)
