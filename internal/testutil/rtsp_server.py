"""A real RTSP server for lineside's tests: GStreamer's gst-rtsp-server
serving a test pattern as RTP/JPEG (RFC 2435) at rtsp://127.0.0.1:PORT/test.

usage: python3 rtsp_server.py PORT WIDTH HEIGHT FPS
Prints "ready" once it listens; runs until killed.
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main():
    port, width, height, fps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        "( videotestsrc is-live=true pattern=ball "
        f"! video/x-raw,format=I420,width={width},height={height},framerate={fps}/1 "
        "! jpegenc quality=80 ! rtpjpegpay name=pay0 pt=26 )"
    )
    factory.set_shared(True)
    server.get_mount_points().add_factory("/test", factory)
    if server.attach(None) == 0:
        print("cannot listen on port " + port, flush=True)
        sys.exit(1)
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
