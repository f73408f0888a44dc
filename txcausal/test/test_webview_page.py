"""
The web view's page in real headless Chromium (see
L{txcausal.test.test_webview_browser}): what it does when the server does
not answer, and in a browser without C{JSON.rawJSON}.
"""

from __future__ import annotations

from ._webview_logs import JOINED
from .test_webview_browser import BrowserCase

#: Puts the page's requests in the test's hands: while C{window.stall},
#: each one is left unanswered, as by a server that never answers; the
#: C{AbortSignal} of each is kept in C{window.signals}.
STALL_REQUESTS = """
window.stall = false; window.signals = [];
var realFetch = window.fetch;
window.fetch = function (url, options) {
  window.signals.push(options && options.signal);
  if (!window.stall) { return realFetch(url, options); }
  return new Promise(function () {});
};
"""
#: Keeps the page's long timers (10 s or more) in C{window.timers}, to be
#: run when the test says, instead of after their delay.
HOLD_TIMERS = """
window.timers = [];
var realSetTimeout = window.setTimeout;
window.setTimeout = function (f, ms) {
  if (ms >= 10000) { window.timers.push(f); return 0; }
  return realSetTimeout.apply(window, arguments);
};
"""

RUN_TIMERS = "window.timers.splice(0).forEach(function (f) { f(); });"


class PageTests(BrowserCase):
    """
    The page in Chromium, when things go wrong.
    """

    def test_listRequestTimeout(self) -> None:
        """
        A task-list request that gets no answer is given up once its
        timeout is over: it is aborted, the page says so, and "searching…"
        goes; the next search works as usual.
        """
        self.driver.get(self.address)
        self.wait(lambda d: len(self.rows()) == 3)
        self.driver.execute_script(STALL_REQUESTS + HOLD_TIMERS + "window.stall = true;")
        indicator = self.driver.find_element("id", "searching")
        self.search("resize")
        self.wait(lambda d: indicator.is_displayed())
        self.assertEqual(self.driver.execute_script("return window.timers.length;"), 1)
        error = self.driver.find_element("id", "list-error")
        # A refresh asked for meanwhile (the live updates' first check)
        # runs next, and gets no answer either: its timeout is run too.
        self.wait(lambda d: d.execute_script(RUN_TIMERS) is None and error.is_displayed()
                  and not indicator.is_displayed())
        self.assertEqual(error.text, "no answer from the server in 30 s (a search under way goes"
                                     " on: search again to wait for it)")
        self.assertTrue(self.driver.execute_script("return window.signals[0].aborted;"))
        self.assertEqual(len(self.rows()), 3)
        self.driver.execute_script("window.stall = false;")
        self.search("resize")
        self.wait(lambda d: self.rows() == [JOINED] and not error.is_displayed())
        self.assertFalse(indicator.is_displayed())

    def test_listRequestTimeoutWithoutSearch(self) -> None:
        """
        A task list asked for without a text or story search (here, the
        failed tasks) that gets no answer fails with the same message but
        for the advice: nothing goes on on the server to search again for.
        """
        self.driver.get(self.address)
        self.wait(lambda d: len(self.rows()) == 3)
        self.driver.execute_script(STALL_REQUESTS + HOLD_TIMERS + "window.stall = true;")
        self.driver.find_element("id", "f-failed").click()
        self.driver.find_element("css selector", "#filters button[type=submit]").click()
        error = self.driver.find_element("id", "list-error")
        self.wait(lambda d: d.execute_script(RUN_TIMERS) is None and error.is_displayed())
        self.assertEqual(error.text, "no answer from the server in 30 s")

    def test_taskRequestTimeout(self) -> None:
        """
        A task page's request that gets no answer is given up too, with
        the same message but for the advice about searches (the task
        page has no search to run again).
        """
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {
            "source": STALL_REQUESTS + HOLD_TIMERS + "window.stall = true;"})
        self.driver.get(self.address + "task/" + JOINED)
        error = self.driver.find_element("id", "task-error")
        self.wait(lambda d: d.execute_script(RUN_TIMERS) is None and error.is_displayed())
        self.assertEqual(error.text, "no answer from the server in 30 s")
        self.assertTrue(self.driver.execute_script("return window.signals[0].aborted;"))

    def test_withoutRawJSON(self) -> None:
        """
        In a browser without C{JSON.rawJSON} (nor, then, exact big integers),
        the page works: integers past 2**53 are shown as the nearest
        number, as C{JSON.parse} makes them, in the list and in a task.
        """
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                    {"source": "delete JSON.rawJSON;"})
        listed, values, levels = self.big_integers_shown()
        self.assertEqual(self.driver.execute_script("return typeof JSON.rawJSON;"), "undefined")
        self.assertIn("1.1805916207174113e+21", listed)
        self.assertEqual(values, sorted(
            ["1.1805916207174113e+21", "[-18446744073709552000,9007199254740991]", "0.5",
             "1e+300"]))
        self.assertEqual(levels, ["/1", "/1.1805916207174113e+21"])
