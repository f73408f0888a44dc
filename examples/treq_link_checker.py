"""
Check the links of a small site with treq, logging each check as an action.

It serves the site itself, with twisted.web on 127.0.0.1 (a free port).
Run it and read the tree:  python examples/treq_link_checker.py | txcausal tree
"""

import re
import sys

import treq
from twisted.internet.defer import ensureDeferred, gatherResults
from twisted.internet.task import react
from twisted.web.resource import Resource
from twisted.web.server import Site
from twisted.web.static import Data

from txcausal import log_call, log_message, start_action, to_file
from txcausal.twisted import DeferredContext


def site() -> Site:
    root = Resource()
    links = "".join(f'<a href="/{name}">{name}</a>' for name in ["about", "news", "gone"])
    root.putChild(b"", Data(links.encode(), "text/html"))
    for name in [b"about", b"news"]:
        root.putChild(name, Data(b"<p>Hello</p>", "text/html"))
    return Site(root)


def noteLength(text: str) -> str:
    log_message(message_type="linkcheck:page", length=len(text))
    return text


def fetchPage(url: str):
    # DeferredContext: callbacks run inside the action, wherever the
    # response comes from; the action ends when the chain does.
    with start_action(action_type="linkcheck:fetch_page", url=url).context():
        d = DeferredContext(treq.get(url))
        d.addCallback(treq.text_content)
        d.addCallback(noteLength)
        return d.addActionFinish()


@log_call(action_type="linkcheck:check_link")
async def checkLink(url: str) -> int:
    # log_call on an async def: the action ends when the coroutine does.
    response = await treq.head(url)
    return response.code


async def main(reactor) -> None:
    to_file(sys.stdout)
    port = reactor.listenTCP(0, site(), interface="127.0.0.1")
    base = f"http://127.0.0.1:{port.getHost().port}"
    with start_action(action_type="linkcheck:site", url=base):
        page = await fetchPage(base + "/")
        urls = [base + path for path in re.findall(r'href="([^"]+)"', page)]
        codes = await gatherResults([ensureDeferred(checkLink(url)) for url in urls])
        broken = [url for url, code in zip(urls, codes, strict=True) if code >= 400]
        log_message(message_type="linkcheck:summary", checked=len(urls), broken=broken)
    await port.stopListening()


if __name__ == "__main__":
    react(lambda reactor: ensureDeferred(main(reactor)), [])
