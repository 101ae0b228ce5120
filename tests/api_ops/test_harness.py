"""The harness itself: servers we stop and start, and a proxy that slows replies down."""

import socket
import threading
import time

import psycopg


def _answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)
    except psycopg.OperationalError:
        return False


def test_throwaway_postgres_stops_and_starts_again_on_the_same_port(postgres_server):
    url = postgres_server.url("postgres")
    assert _answers(url)

    postgres_server.stop()
    try:
        assert not _answers(url)
    finally:
        postgres_server.start()

    assert _answers(url)


def test_throwaway_redis_starts_again_on_the_same_port_after_a_kill(redis_server):
    redis_server.kill()
    assert not redis_server.answers_ping()

    redis_server.start()

    assert redis_server.answers_ping()


def _echo_server() -> socket.socket:
    server = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(
                target=lambda c=conn: [c.sendall(d) for d in iter(lambda: c.recv(1024), b"")],
                daemon=True,
            ).start()

    threading.Thread(target=serve, daemon=True).start()
    return server


def test_proxy_delays_replies_by_its_delay(tcp_proxy):
    echo = _echo_server()
    proxy = tcp_proxy(echo.getsockname()[1])
    proxy.delay = 0.3
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as conn:
        started = time.monotonic()
        conn.sendall(b"ping")

        assert conn.recv(16) == b"ping"
        assert time.monotonic() - started >= 0.3
    echo.close()


def test_stalled_proxy_holds_replies_until_resumed(tcp_proxy, wait_until):
    echo = _echo_server()
    proxy = tcp_proxy(echo.getsockname()[1])
    proxy.stall()
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as conn:
        conn.sendall(b"ping")
        wait_until(lambda: proxy.held == 1, 5, "the reply to be held")
        conn.settimeout(0.2)
        try:
            early = conn.recv(16)
        except TimeoutError:
            early = None
        proxy.resume()
        conn.settimeout(5)

        assert early is None
        assert conn.recv(16) == b"ping"
    echo.close()
