"""LangGraph side of scripts/bench-graph: the same agent-loop graph with no-op nodes.

Each LLM step appends one ~200-byte assistant message (with a tool call until the last), each
tool step one ~200-byte result; durability "sync" (every checkpoint committed before the next
superstep). Prints one JSON object.
Usage: bench-graph-langgraph.py sqlite PATH STEPS... | postgres URL CONCURRENT CONCURRENT_STEPS STEPS...
"""
import asyncio
import json
import operator
import sqlite3
import sys
import time
import uuid
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph

PAD = "x" * 160


class State(TypedDict):
    messages: Annotated[list, operator.add]
    limit: int


def llm(state: State):
    n = sum(1 for m in state["messages"] if m["role"] == "assistant") + 1
    message = {"role": "assistant", "content": f"step {n} {PAD}"}
    if n < state["limit"]:
        message["tool_calls"] = [{"id": f"call-{n}", "type": "function", "function": {"name": "noop", "arguments": json.dumps({"n": n})}}]
    return {"messages": [message]}


def tools(state: State):
    call = state["messages"][-1]["tool_calls"][0]
    return {"messages": [{"role": "tool", "tool_call_id": call["id"], "content": f"result {PAD}"}]}


def route(state: State):
    return "tools" if state["messages"][-1].get("tool_calls") else END


def build(checkpointer):
    graph = StateGraph(State)
    graph.add_node("llm", llm)
    graph.add_node("tools", tools)
    graph.add_edge(START, "llm")
    graph.add_conditional_edges("llm", route, ["tools", END])
    graph.add_edge("tools", "llm")
    return graph.compile(checkpointer=checkpointer)


def config(thread):
    return {"configurable": {"thread_id": thread}, "recursion_limit": 10_000}


def start(steps):
    return {"messages": [{"role": "user", "content": "benchmark"}], "limit": steps}


def sequential(app, steps_list, size_of):
    out = []
    for steps in steps_list:
        thread = str(uuid.uuid4())
        t0 = time.perf_counter()
        app.invoke(start(steps), config(thread), durability="sync")
        seconds = time.perf_counter() - t0
        supersteps = steps * 2 - 1
        total, last = size_of(thread)
        out.append({"llmSteps": steps, "supersteps": supersteps, "seconds": seconds,
                    "perSuperstepMs": seconds * 1000 / supersteps, "checkpointBytes": total, "lastCheckpointBytes": last})
    return out


def main():
    backend = sys.argv[1]
    if backend == "sqlite":
        from langgraph.checkpoint.sqlite import SqliteSaver
        conn = sqlite3.connect(sys.argv[2], check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        saver = SqliteSaver(conn)
        saver.setup()
        app = build(saver)

        def size_of(thread):
            rows = conn.execute("SELECT LENGTH(checkpoint) + LENGTH(metadata) FROM checkpoints WHERE thread_id = ? ORDER BY checkpoint_id",
                                (thread,)).fetchall()
            writes = conn.execute("SELECT COALESCE(SUM(LENGTH(value)), 0) FROM writes WHERE thread_id = ?", (thread,)).fetchone()[0]
            return sum(r[0] for r in rows) + writes, rows[-1][0] if rows else 0
        print(json.dumps({"sequential": sequential(app, [int(s) for s in sys.argv[3:]], size_of)}))
    else:
        from langgraph.checkpoint.postgres import PostgresSaver
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        url, concurrent, concurrent_steps = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        with PostgresSaver.from_conn_string(url) as saver:
            saver.setup()
            app = build(saver)

            def size_of(thread):
                with saver.conn.cursor() as cur:
                    cur.execute("SELECT pg_column_size(checkpoint) + pg_column_size(metadata) AS b FROM checkpoints WHERE thread_id = %s ORDER BY checkpoint_id", (thread,))
                    rows = [r["b"] for r in cur.fetchall()]
                    cur.execute("SELECT COALESCE(SUM(octet_length(blob)), 0) AS b FROM checkpoint_blobs WHERE thread_id = %s", (thread,))
                    blobs = cur.fetchone()["b"]
                    cur.execute("SELECT COALESCE(SUM(octet_length(blob)), 0) AS b FROM checkpoint_writes WHERE thread_id = %s", (thread,))
                    writes = cur.fetchone()["b"]
                return sum(rows) + int(blobs) + int(writes), rows[-1] if rows else 0
            seq = sequential(app, [int(s) for s in sys.argv[5:]], size_of)

        async def concurrent_runs():
            from psycopg_pool import AsyncConnectionPool
            from psycopg.rows import dict_row
            async with AsyncConnectionPool(url, max_size=20, kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}) as pool:
                saver = AsyncPostgresSaver(pool)
                app = build(saver)
                async def one():
                    try:
                        await app.ainvoke(start(concurrent_steps), config(str(uuid.uuid4())), durability="sync")
                        return True
                    except Exception as e:  # counted, reported
                        print(f"run failed: {e!r}", file=sys.stderr)
                        return False
                t0 = time.perf_counter()
                results = await asyncio.gather(*[one() for _ in range(concurrent)])
                seconds = time.perf_counter() - t0
                return {"runs": concurrent, "llmSteps": concurrent_steps, "seconds": seconds,
                        "runsPerSecond": concurrent / seconds, "failures": results.count(False)}
        print(json.dumps({"sequential": seq, "concurrent": asyncio.run(concurrent_runs())}))


main()
