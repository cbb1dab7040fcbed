"""Does a visitor drawing on Predict keep their pace while 50 new sessions flood the server?

Issue 19, finding 4: 50 WebSocket connections to /_stcore/stream, each sending one
`rerun_script` for the predict page, held another visitor's answers at 7.9 s, then 17.3 s.
This starts one fresh server from `--root` (`streamlit run app.py` on 127.0.0.1 and a free port,
`--browser.gatherUsageStats false`, an empty temporary MNIST_RUNS_DIR), and:

1. One visitor (headless Debian Chromium, as bench/many_visitors.py drives it) opens /predict and
   draws `--quiet-strokes` digits alone: stroke (mouse-up) to answer on screen, timed in the page.
2. `--flood` raw WebSocket sessions connect at once, each sends one `rerun_script` for /predict
   and reads until its run ends (`script_finished`) or `--flood-timeout`, then closes; meanwhile
   the visitor draws `--strokes` more digits. Its p95 during the flood is the figure (target
   <= 1.5 s), beside the seconds until every flood session's run ended.

Loopback only (127.0.0.1; Chromium resolves no other name), a fixed number of sockets and of
strokes, everything under `--deadline`: it stops by itself. To measure code before a change, point
`--root` at a checkout of it (`git worktree add /tmp/before <commit>`).

    .venv/bin/python bench/rerun_flood.py
    .venv/bin/python bench/rerun_flood.py --root /tmp/before --json before.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

import numpy as np  # noqa: E402
import websockets  # noqa: E402
from playwright.async_api import async_playwright  # noqa: E402
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from bench.many_visitors import LOOPBACK_ONLY_ARG, WEBSOCKET_CLOCK_JS, Visitor, load_predict, stroke  # noqa: E402
from bench.server_footprint import CLOCKS_JS, ONE, ZERO  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, streamlit_process  # noqa: E402

P95_TARGET_S = 1.5
EARLY = ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN


async def flood_session(url: str, timeout_s: float) -> float | None:
    """One new session, one rerun of /predict; seconds until its run ended, None if it did not."""
    started = time.monotonic()
    rerun = BackMsg()
    rerun.rerun_script.page_name = "predict"
    rerun.rerun_script.query_string = ""
    stream = url.replace("http://", "ws://") + "/_stcore/stream"
    try:
        async with asyncio.timeout(timeout_s):
            async with websockets.connect(
                stream, subprotocols=["streamlit"], origin=url, max_size=None
            ) as socket_:
                await socket_.send(rerun.SerializeToString())
                async for data in socket_:
                    message = ForwardMsg()
                    message.ParseFromString(data)
                    # A run that ended only to rerun (a fresh server routes its first session
                    # through app.py that way) is not the end of the page's run.
                    if message.WhichOneof("type") == "script_finished" and message.script_finished != EARLY:
                        return time.monotonic() - started
    except (TimeoutError, OSError, websockets.WebSocketException):
        return None
    return None


async def draw_strokes(page, count: int, args, first: int = 0) -> list[float]:
    seconds = []
    for number in range(first, first + count):
        points = (ONE, ZERO)[number % 2]
        seconds.append((await stroke(page, points, args.answer_timeout))["seconds"])
        await asyncio.sleep(args.pause)
    return seconds


def p95(values: list[float]) -> float | None:
    return float(np.percentile(values, 95)) if values else None


async def measure(url: str, args) -> dict:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, LOOPBACK_ONLY_ARG], headless=True
        )
        try:
            context = await browser.new_context(viewport={"width": 1400, "height": 1000})
            await context.add_init_script(WEBSOCKET_CLOCK_JS)
            page = await context.new_page()
            page.set_default_timeout(1000 * args.answer_timeout)
            await load_predict(page, url, Visitor(0), args.load_timeout)
            await page.evaluate(CLOCKS_JS)
            quiet = await draw_strokes(page, args.quiet_strokes, args)
            flood_started = time.monotonic()
            flood = asyncio.gather(*(flood_session(url, args.flood_timeout) for _ in range(args.flood)))
            await asyncio.sleep(0.2)  # The sockets are open and their reruns sent.
            during = []
            while len(during) < args.strokes or not flood.done():  # Strokes while the flood lasts.
                during += await draw_strokes(page, 1, args, first=args.quiet_strokes + len(during))
            ended = await flood
            flood_s = time.monotonic() - flood_started
        finally:
            await browser.close()
    finished = [s for s in ended if s is not None]
    return {
        "quiet_p95_s": p95(quiet),
        "quiet_strokes_s": quiet,
        "flood_p95_s": p95(during),
        "flood_max_s": max(during),
        "flood_strokes_s": during,
        "flood_sessions": args.flood,
        "flood_sessions_finished": len(finished),
        "flood_session_p95_s": p95(finished),
        "flood_seconds": flood_s,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help="the checkout whose app.py runs")
    parser.add_argument("--flood", type=int, default=50, help="new sessions, one rerun each")
    parser.add_argument("--quiet-strokes", type=int, default=6)
    parser.add_argument("--strokes", type=int, default=12, help="strokes drawn during the flood, at least")
    parser.add_argument("--pause", type=float, default=0.3, help="seconds between strokes")
    parser.add_argument("--answer-timeout", type=float, default=60)
    parser.add_argument("--load-timeout", type=float, default=120)
    parser.add_argument("--flood-timeout", type=float, default=120)
    parser.add_argument("--deadline", type=float, default=480, help="the whole measurement, seconds")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    args.flood = min(args.flood, 200)  # Bounded, whatever was asked.
    with tempfile.TemporaryDirectory() as scratch:
        runs, log = Path(scratch) / "runs", Path(scratch) / "server.log"
        runs.mkdir()
        with streamlit_process(runs, log, root=args.root.resolve()) as (url, _server):
            result = asyncio.run(asyncio.wait_for(measure(url, args), args.deadline))
    result["root"] = str(args.root)
    print(json.dumps({k: v for k, v in result.items() if not k.endswith("strokes_s")}, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    met = result["flood_p95_s"] is not None and result["flood_p95_s"] <= P95_TARGET_S
    verdict = "met" if met else "MISSED"
    print(f"p95 during the flood {result['flood_p95_s']:.2f} s: target <= {P95_TARGET_S} s {verdict}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
