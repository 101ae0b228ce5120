"""Draw template_builder.architecture's graph with mingrammer/diagrams (AWS icons on graphviz).

The dot source is what is committed and compared (docs/architecture.dot): diagrams writes it
without graphviz's `dot` command; node ids are the stacks' logical ids (diagrams would draw
random ones), nodes and edges come sorted, and the icons are named relative to the diagrams
package, so the text is the same on every machine. The PNG (docs/architecture.png) is drawn from
that source by `dot` only when the source changed: its bytes vary with graphviz and fonts.
"""

import importlib
import shutil
import subprocess
import textwrap
from pathlib import Path, PurePosixPath

import diagrams
from diagrams import Cluster, Diagram, Edge, Node, setdiagram
from diagrams.aws.general import Users

from template_builder.architecture import Architecture
from template_builder.architecture import Node as ResourceNode

DOT_FILE = "docs/architecture.dot"
IMAGE_FILE = "docs/architecture.png"
TITLE = "api-cars: the default deploy (every option off), drawn from templates/ by make template"
# The folder diagrams' icons are named from: site-packages, wherever it is installed.
ICON_ROOT = Path(diagrams.__file__).resolve().parent.parent
GREY = "#9AA3AB"
EDGE_STYLES = {
    "flow": {"color": "#2D3436"},
    "deploy": {"color": "#7B8894", "style": "dotted"},
    "control": {"color": "#3B7DD8", "style": "dashed"},
    "off": {"color": GREY, "style": "dashed"},
}
LEGEND = (
    "solid: requests; dotted: deploy time (custom resources); blue dashed: scaling;\n"
    "grey dashed: an option, off by default. Folded into a node: the resources that only\n"
    "serve it (listeners, target group, task definition, cluster, secrets, users).\n"
    "Not drawn, counted per stack: IAM, log groups, security groups and their rules, alarms."
)


class _Source(Diagram):
    """A Diagram that renders nothing when its block ends: the dot source is what is kept."""

    def __exit__(self, exc_type, exc_value, traceback):
        setdiagram(None)


def _icon(dotted: str) -> type[Node]:
    module, name = dotted.rsplit(".", 1)
    return getattr(importlib.import_module(f"diagrams.aws.{module}"), name)


def _wrap(text: str, width: int = 36) -> str:
    return "\n".join(textwrap.wrap(text, width, break_on_hyphens=False))


def _label(node: ResourceNode) -> str:
    lines = [node.logical_id]
    parts = [m for m, off in node.folded if off is None]
    if parts:
        lines.append(f"(+ {len(parts)} folded)")
    for member, off in node.folded:
        if off:
            lines += [f"+ {member}", f"({off}: off)"]
    return "\n".join(lines)


def _tooltip(node: ResourceNode) -> str:
    folded = ", ".join(f"{m} ({off}: off)" if off else m for m, off in node.folded)
    return f"{node.resource_type} {node.logical_id}" + (f"; folded: {folded}" if folded else "")


def _draw(node: ResourceNode) -> Node:
    """The node; one off by default sits in a dashed cluster naming its condition."""
    if node.off is None:
        return _draw_icon(node)
    with _cluster(f"option {node.off}: off", f"{node.id}_off", style="dashed,rounded",
                  pencolor=GREY, fontcolor=GREY, bgcolor="#FFFFFF"):  # fmt: skip
        return _draw_icon(node)


def _draw_icon(node: ResourceNode) -> Node:
    attrs = {"tooltip": _tooltip(node)}
    if node.off:
        attrs["fontcolor"] = GREY
    return _icon(node.kind.icon)(_label(node), nodeid=node.id, **attrs)


def _cluster(label: str, name: str, **attrs) -> Cluster:
    cluster = Cluster(label, graph_attr=attrs)
    cluster.dot.name = "cluster_" + name  # diagrams names it by label: two "VPC"s would merge
    return cluster


def dot_source(architecture: Architecture, title: str = TITLE) -> str:
    """The graphviz source of the picture: deterministic text, icons relative to ICON_ROOT."""
    with _Source(
        title,
        filename="architecture",
        show=False,
        direction="LR",
        graph_attr={"pad": "0.5", "labelloc": "t", "fontsize": "18"},
        node_attr={"fontsize": "11"},
    ) as picture:
        drawn: dict[str, Node] = {"clients": Users("clients", nodeid="clients")}
        for stack in architecture.stacks:
            stem = PurePosixPath(stack.path).stem.replace("-", "_")
            title = f"stack {stack.name} ({stack.path})" if stack.name else stack.path
            with _cluster(title, stem):
                for node in (n for n in stack.nodes if n.subnets is None):
                    drawn[node.id] = _draw(node)
                placed = sorted({n.subnets for n in stack.nodes if n.subnets})
                if placed:
                    with _cluster("VPC", f"{stem}_vpc"):
                        for subnets in placed:
                            with _cluster(f"subnets: {subnets}", f"{stem}_{subnets}"):
                                for node in (n for n in stack.nodes if n.subnets == subnets):
                                    drawn[node.id] = _draw(node)
                notes = []
                if stack.counted:
                    counted = ", ".join(f"{k} {v}" for k, v in sorted(stack.counted.items()))
                    notes.append(_wrap(f"not drawn: {counted}"))
                if stack.options_off:
                    notes.append(_wrap(f"off by default: {', '.join(stack.options_off)}"))
                if notes:
                    Node(
                        "\n".join(notes),
                        nodeid=f"{stem}__notes",
                        shape="note",
                        fixedsize="false",
                        width="0",
                        height="0",
                        fontsize="10",
                        fontcolor="#57606A",
                        color="#AEB6BE",
                    )
        Node(LEGEND, nodeid="legend", shape="note", fixedsize="false", width="0", height="0",
             fontsize="10", fontcolor="#57606A", color="#AEB6BE")  # fmt: skip
        for target, style in architecture.entries:
            drawn["clients"] >> Edge(**EDGE_STYLES[style]) >> drawn[target]
        for edge in architecture.edges:
            # A label would float off an orthogonal edge: the parameter that links two stacks
            # by name (not by an export) is the edge's tooltip.
            attrs = EDGE_STYLES[edge.style] | ({"tooltip": edge.label} if edge.label else {})
            drawn[edge.source] >> Edge(**attrs) >> drawn[edge.target]
    return str(picture.dot).replace(str(ICON_ROOT) + "/", "")


def draw_image(source: str, path: Path) -> None:
    """Render the dot source to a PNG with graphviz's `dot` (Debian's graphviz)."""
    dot = shutil.which("dot")
    if dot is None:
        raise FileNotFoundError("no `dot` command: apt-get install graphviz (make template does)")
    path.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(  # noqa: S603 (a fixed command on our own source)
        [dot, "-Tpng", f"-Gimagepath={ICON_ROOT}", "-o", str(path)],
        input=source.encode(),
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        errors = done.stderr.decode(errors="replace").strip().splitlines() or ["no message"]
        raise RuntimeError(f"dot exited {done.returncode}: {errors[0]}")
