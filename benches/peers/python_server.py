"""The official Python SDK peer of the peer benchmark (benches/peers/run.sh).

An MCPServer (mcp 2.x; FastMCP in mcp 1.x) with an `Image` tool returning a file whole, and
tools shaped like mcp-media's so `tools/list` answers a list of similar size. Written as the
SDK's README writes a server; it knows nothing of mcp-media.

Usage: python python_server.py ROOT stdio
       python python_server.py ROOT http PORT      (Streamable HTTP at /mcp, SDK defaults)
"""

import os
import sys

from mcp.server.mcpserver import Image, MCPServer

root = sys.argv[1]
server = MCPServer("python-peer", log_level="WARNING")


@server.tool()
def read_file(path: str) -> Image:
    """Read a file whole, as base64 image content."""
    return Image(path=os.path.join(root, path))


@server.tool()
def media_list(kind: str | None = None, glob: str | None = None, cursor: str | None = None, limit: int | None = None) -> list[str]:
    """List the media files under the roots, filtered by kind and glob, paged."""
    return [f"media://lib/{n}" for n in sorted(os.listdir(root))]


@server.tool()
def media_probe(uri: str) -> dict:
    """Probe a media file: kind, MIME type, size, duration, dimensions, codec."""
    name = uri.removeprefix("media://lib/")
    return {"size": os.path.getsize(os.path.join(root, name))}


@server.tool()
def image_transform(
    uri: str,
    width: int | None = None,
    height: int | None = None,
    fit: str | None = None,
    format: str | None = None,
    quality: int | None = None,
    rotate: int | None = None,
) -> str:
    """Resize, crop, rotate and re-encode an image into one image block."""
    return "not implemented in the peer"


if __name__ == "__main__":
    if sys.argv[2] == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[3]))
