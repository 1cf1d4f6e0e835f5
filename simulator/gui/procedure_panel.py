"""The scene picker and the teaching text of the current scene.

``ProcedurePanel`` shows, in a vertical splitter, a tree of every scene of
the library (procedures grouped by family, then the demonstration and
phantom scenes) with a filter, and below it the teaching text of the scene
being practised: goal, approach and needle, sono-anatomy, steps, pitfalls,
structures to avoid and sources.

Listing is fast: the tree is filled from the ``[scene]`` and ``[procedure]``
tables read straight from the TOML (a few ms for the whole library), then
every file is validated with ``scenes.load_scene_spec`` on a worker thread
(about 1 s: it reads and checks every mesh); a file that fails is greyed,
with the error as its tooltip.
"""

from __future__ import annotations

import html
import threading
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QFont, QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from scenes import SceneError, SceneSpec, list_scene_files, load_scene_spec

#: Readable titles of the procedure families, in display order.
FAMILY_TITLES: dict[str, str] = {
    "joint": "Joints",
    "bursa_tendon": "Bursae, tendons and entheses",
    "perineural": "Nerves",
}
#: Group of the scenes without a ``[procedure]``.
OTHER_TITLE = "Demonstration and phantoms"

#: Readable body regions, in display order.
REGION_TITLES: dict[str, str] = {
    "spine": "Spine",
    "shoulder": "Shoulder",
    "elbow": "Elbow",
    "wrist": "Wrist",
    "hip": "Hip",
    "knee": "Knee",
    "ankle_foot": "Ankle and foot",
}

#: What each harm of an ``avoid`` structure means, for the trainee.
HARM_TEXT: dict[str, str] = {
    "intraneural": "intraneural injection",
    "arterial_puncture": "arterial puncture",
    "venous_puncture": "venous puncture",
    "intratendinous": "intratendinous injection",
    "bone_strike": "bone strike",
    "pleura": "pneumothorax",
    "cartilage": "cartilage injury",
    "labrum": "labral injury",
    "intra_articular": "unintended intra-articular injection",
    "deep_fascia": "injection deep to the fascia",
}

_PATH_ROLE = Qt.ItemDataRole.UserRole
_GREY = QColor(130, 130, 130)


@dataclass(frozen=True)
class SceneEntry:
    """What the picker knows about one scene file.

    Attributes
    ----------
    path : Path
        Absolute path of the scene file.
    name, title, description : str
    family, region : str or None
        Keys of ``FAMILY_TITLES`` / ``REGION_TITLES``; None for a scene
        without ``[procedure]``.
    target_text, indication : str
        Empty for a scene without ``[procedure]``.
    error : str or None
        Why the file is unusable (``SceneError`` message), None when fine
        or not yet validated.
    validated : bool
        Whether ``load_scene_spec`` has checked it.
    """

    path: Path
    name: str
    title: str
    description: str = ""
    family: str | None = None
    region: str | None = None
    target_text: str = ""
    indication: str = ""
    error: str | None = None
    validated: bool = False

    @property
    def group(self) -> str:
        """Title of the tree group the scene belongs to."""
        return FAMILY_TITLES.get(self.family or "", OTHER_TITLE)

    @property
    def region_title(self) -> str:
        """Readable region ("" when none)."""
        return REGION_TITLES.get(self.region or "", self.region or "")

    def matches(self, words: list[str]) -> bool:
        """True when every (lower-case) word occurs in the title, name, region or target."""
        hay = " ".join(
            (self.title, self.name, self.region_title, self.target_text, self.group)
        ).lower()
        return all(w in hay for w in words)


def peek_scene_file(path: str | Path) -> SceneEntry:
    """Read a scene file's identification without validating it (milliseconds).

    Parameters
    ----------
    path : str or Path
        A ``.toml`` scene file.

    Returns
    -------
    SceneEntry
        ``error`` set (and ``validated`` True) when the file cannot even be
        parsed; the message is ``load_scene_spec``'s, naming the file.
    """
    path = Path(path).expanduser().resolve()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        scene = data["scene"]
        proc = data.get("procedure") or {}
        return SceneEntry(
            path=path,
            name=str(scene.get("name", path.stem)),
            title=str(scene.get("title") or scene.get("name", path.stem)),
            description=str(scene.get("description", "")),
            family=proc.get("family"),
            region=proc.get("region"),
            target_text=str(proc.get("target", "")),
            indication=str(proc.get("indication", "")),
        )
    except (
        OSError,
        UnicodeDecodeError,
        tomllib.TOMLDecodeError,
        KeyError,
        TypeError,
        AttributeError,
    ):
        return _validate(SceneEntry(path=path, name=path.stem, title=path.stem))


def _validate(entry: SceneEntry) -> SceneEntry:
    """``entry`` checked with ``load_scene_spec`` (any thread)."""
    try:
        spec = load_scene_spec(entry.path)
    except SceneError as exc:
        return replace(entry, error=str(exc), validated=True)
    except Exception as exc:  # a message for the tooltip, never a crash
        return replace(
            entry,
            error=f"scene file '{entry.path}': {type(exc).__name__}: {exc}",
            validated=True,
        )
    return _entry_of(spec)


def _entry_of(spec: SceneSpec) -> SceneEntry:
    p = spec.procedure
    return SceneEntry(
        path=Path(spec.path),
        name=spec.name,
        title=spec.title or spec.name,
        description=spec.description,
        family=p.family if p else None,
        region=p.region if p else None,
        target_text=p.target_text if p else "",
        indication=p.indication if p else "",
        validated=True,
    )


class _Validator(QObject):
    """Validates scene files on one worker thread; results arrive queued on the GUI thread."""

    validated = Signal(object)  # SceneEntry
    _done_w = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._stop = threading.Event()
        self._done_w.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def start(self, entries: list[SceneEntry]) -> None:
        todo = [e for e in entries if not e.validated]
        if todo:
            self._pool.start(lambda: self._run(todo))

    def _run(self, entries: list[SceneEntry]) -> None:
        for e in entries:
            if self._stop.is_set():
                return
            result = _validate(e)
            try:
                self._done_w.emit(result)
            except RuntimeError:  # the panel was deleted while this file was checked
                return

    @Slot(object)
    def _deliver(self, entry: SceneEntry) -> None:
        if not self._stop.is_set():
            self.validated.emit(entry)

    def stop(self) -> None:
        self._stop.set()

    def wait(self, timeout_ms: int) -> bool:
        from PySide6.QtCore import QCoreApplication

        done = self._pool.waitForDone(timeout_ms)
        QCoreApplication.sendPostedEvents(self)
        return done


class _SceneTree(QTreeWidget):
    """The tree, with Enter/Return opening the current scene."""

    enter_pressed = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.enter_pressed.emit()
            return
        super().keyPressEvent(event)


class ProcedurePanel(QWidget):
    """Scene picker (top) and teaching text of the current scene (bottom).

    Parameters
    ----------
    scene_files : list of Path, optional
        The files to list (default: ``scenes.list_scene_files()``).
    validate : {"background", "now", "off"}
        Check every file with ``load_scene_spec`` on a worker thread (the
        default), in the constructor (tests), or not at all.
    parent : QWidget, optional

    Signals
    -------
    scene_chosen(str)
        Path of the scene file the user opened (double-click, Enter or the
        Open button).
    """

    scene_chosen = Signal(str)

    def __init__(
        self,
        scene_files: list[Path] | None = None,
        validate: str = "background",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        if validate not in ("background", "now", "off"):
            raise ValueError(f"validate must be 'background', 'now' or 'off', got {validate!r}")
        files = list_scene_files() if scene_files is None else list(scene_files)
        self._entries: dict[Path, SceneEntry] = {}
        self._items: dict[Path, QTreeWidgetItem] = {}
        self._groups: dict[str, QTreeWidgetItem] = {}
        self._html = ""
        self._build_ui()
        for f in files:
            self._put(peek_scene_file(f))
        self._validator = _Validator(self)
        self._validator.validated.connect(self._put)
        if validate == "now":
            for e in list(self._entries.values()):
                if not e.validated:
                    self._put(_validate(e))
        elif validate == "background":
            self._validator.start(list(self._entries.values()))
        self._apply_filter()
        self._show_placeholder()

    # ------------------------------------------------------------------ UI

    def _build_ui(self) -> None:
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter: region, structure, nerve, tendon…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._apply_filter)
        self.filter_edit.returnPressed.connect(self._open_first_visible)
        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("Load the selected scene (double-click or Enter also work)")
        self.open_button.clicked.connect(self._open_current)

        self.tree = _SceneTree()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Scene", "Region"])
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(False)
        self.tree.setIndentation(14)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemActivated.connect(lambda item, _col: self._choose(item))
        self.tree.enter_pressed.connect(self._open_current)
        self.tree.currentItemChanged.connect(lambda *_: self._update_open_button())

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.filter_edit, 1)
        row.addWidget(self.open_button)
        top_layout.addLayout(row)
        top_layout.addWidget(self.tree, 1)

        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(False)
        self.text.setReadOnly(True)
        self.text.document().setDefaultStyleSheet(_CSS)
        self.text.document().setDocumentMargin(10)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.text)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([400, 600])
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        self._update_open_button()

    def _group(self, title: str) -> QTreeWidgetItem:
        group = self._groups.get(title)
        if group is not None:
            return group
        group = QTreeWidgetItem([title, ""])
        font = QFont(group.font(0))
        font.setBold(True)
        group.setFont(0, font)
        group.setForeground(0, QBrush(QColor(255, 190, 80)))
        group.setFlags(Qt.ItemFlag.ItemIsEnabled)
        order = [*FAMILY_TITLES.values(), OTHER_TITLE]
        self._groups[title] = group
        rank = order.index(title) if title in order else len(order)
        index = sum(
            1 for t in self._groups if t != title and (order.index(t) if t in order else 99) < rank
        )
        self.tree.insertTopLevelItem(index, group)
        group.setExpanded(True)
        group.setFirstColumnSpanned(False)
        return group

    @Slot(object)
    def _put(self, entry: SceneEntry) -> None:
        """Add or update the item of ``entry``."""
        old = self._entries.get(entry.path)
        self._entries[entry.path] = entry
        item = self._items.get(entry.path)
        if item is not None and old is not None and old.group != entry.group:
            item.parent().removeChild(item)
            item = None
        if item is None:
            item = QTreeWidgetItem()
            item.setData(0, _PATH_ROLE, str(entry.path))
            parent = self._group(entry.group)
            parent.addChild(item)
            self._items[entry.path] = item
            self._sort_group(parent)
        item.setText(0, entry.title)
        item.setText(1, entry.region_title)
        if entry.error:
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            item.setForeground(0, QBrush(_GREY))
            item.setForeground(1, QBrush(_GREY))
            item.setText(1, "invalid")
            item.setToolTip(0, entry.error)
            item.setToolTip(1, entry.error)
        else:
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            tip = _item_tooltip(entry)
            item.setToolTip(0, tip)
            item.setToolTip(1, tip)
        self._update_group_titles()
        self._update_open_button()

    def _sort_group(self, group: QTreeWidgetItem) -> None:
        regions = list(REGION_TITLES)

        def key(item: QTreeWidgetItem) -> tuple:
            e = self._entries[Path(item.data(0, _PATH_ROLE))]
            r = regions.index(e.region) if e.region in regions else len(regions)
            return (r, e.title.lower())

        children = [group.child(i) for i in range(group.childCount())]
        if [id(c) for c in children] == [id(c) for c in sorted(children, key=key)]:
            return
        current = self.tree.currentItem()
        for c in children:
            group.removeChild(c)
        for c in sorted(children, key=key):
            group.addChild(c)
        if current is not None:
            self.tree.setCurrentItem(current)

    def _update_group_titles(self) -> None:
        for title, group in self._groups.items():
            n = sum(1 for i in range(group.childCount()) if not group.child(i).isHidden())
            group.setText(0, f"{title}  ({n})")

    # --------------------------------------------------------------- picker

    def add_scene_file(self, path: str | Path) -> None:
        """List a scene file that is not in the library (e.g. ``--scene FILE``).

        It is validated at once (``load_scene_spec``); an invalid file is
        listed greyed with the error as its tooltip.
        """
        entry = peek_scene_file(path)
        if entry.path in self._entries and self._entries[entry.path].validated:
            return
        self._put(entry if entry.validated else _validate(entry))
        self._apply_filter()

    def select_scene(self, path: str | Path) -> None:
        """Highlight the scene file ``path`` (no ``scene_chosen``); unknown paths are ignored."""
        item = self._items.get(Path(path).expanduser().resolve())
        if item is None:
            return
        self.tree.blockSignals(True)
        try:
            self.tree.setCurrentItem(item)
            item.setSelected(True)
        finally:
            self.tree.blockSignals(False)
        self.tree.scrollToItem(item)
        self._update_open_button()

    def scene_paths(self, visible_only: bool = False) -> list[Path]:
        """Listed scene files in tree order (only those the filter shows if asked)."""
        out = []
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            for i in range(group.childCount()):
                item = group.child(i)
                if not visible_only or not item.isHidden():
                    out.append(Path(item.data(0, _PATH_ROLE)))
        return out

    def entry(self, path: str | Path) -> SceneEntry:
        """The picker's entry of ``path`` (KeyError when not listed)."""
        return self._entries[Path(path).expanduser().resolve()]

    def item_of(self, path: str | Path) -> QTreeWidgetItem:
        """The tree item of ``path`` (KeyError when not listed)."""
        return self._items[Path(path).expanduser().resolve()]

    def wait_validated(self, timeout_ms: int = 30_000) -> bool:
        """Block until the background validation is done (tests)."""
        return self._validator.wait(timeout_ms)

    @Slot()
    def _apply_filter(self) -> None:
        words = self.filter_edit.text().lower().split()
        for path, item in self._items.items():
            item.setHidden(not self._entries[path].matches(words))
        for group in self._groups.values():
            shown = any(not group.child(i).isHidden() for i in range(group.childCount()))
            group.setHidden(not shown)
        self._update_group_titles()

    def _choose(self, item: QTreeWidgetItem | None) -> None:
        if item is None or item.data(0, _PATH_ROLE) is None:
            return
        entry = self._entries[Path(item.data(0, _PATH_ROLE))]
        if entry.error:
            return
        self.scene_chosen.emit(str(entry.path))

    @Slot()
    def _open_current(self) -> None:
        self._choose(self.tree.currentItem())

    @Slot()
    def _open_first_visible(self) -> None:
        current = self.tree.currentItem()
        if current is not None and not current.isHidden() and current.data(0, _PATH_ROLE):
            self._choose(current)
            return
        for path in self.scene_paths(visible_only=True):
            if not self._entries[path].error:
                self.scene_chosen.emit(str(path))
                return

    def _update_open_button(self) -> None:
        item = self.tree.currentItem()
        ok = (
            item is not None
            and item.data(0, _PATH_ROLE) is not None
            and not self._entries[Path(item.data(0, _PATH_ROLE))].error
        )
        self.open_button.setEnabled(bool(ok))

    # ------------------------------------------------------------- teaching

    def show_scene(self, spec: SceneSpec) -> None:
        """Show the teaching text of ``spec`` (procedure or demonstration scene)."""
        self._html = build_teaching_html(spec)
        self.text.setHtml(self._html)
        self.select_scene(spec.path)

    def teaching_html(self) -> str:
        """The HTML currently shown in the teaching text."""
        return self._html

    def _show_placeholder(self) -> None:
        self._html = (
            "<p class='muted'>Choose a scene above and open it (double-click, Enter or "
            "<b>Open</b>): its goal, approach, steps and pitfalls appear here.</p>"
        )
        self.text.setHtml(self._html)

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Stop checking scene files and wait for the check in progress."""
        self._validator.stop()
        self._validator.wait(timeout_ms)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self._validator.stop()
        super().closeEvent(event)


def _item_tooltip(entry: SceneEntry) -> str:
    parts = [f"<b>{html.escape(entry.title)}</b>"]
    if entry.target_text:
        parts.append(f"Target: {html.escape(entry.target_text)}")
    elif entry.description:
        parts.append(html.escape(entry.description))
    parts.append(f"<span style='color:#999'>{html.escape(str(entry.path))}</span>")
    return "<br>".join(parts)


# ---------------------------------------------------------------- teaching HTML

_CSS = """
h1 { color: #ffb000; font-size: x-large; margin-bottom: 2px; }
h2 { color: #ffb000; font-size: large; margin-top: 14px; margin-bottom: 4px; }
p { margin-top: 3px; margin-bottom: 3px; }
li { margin-bottom: 3px; }
.sub { color: #b8b8b8; }
.muted { color: #9a9a9a; }
.key { color: #ffd27a; font-weight: bold; }
.avoid { color: #ff8a80; font-weight: bold; }
.small { color: #9a9a9a; font-size: small; }
"""


def _e(text: str) -> str:
    return html.escape(text.strip())


def _human(name: str) -> str:
    """``"median_nerve_fascicles"`` -> ``"Median nerve fascicles"``."""
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _entry_words(spec: SceneSpec) -> str:
    """Where the needle enters, relative to the probe at the canonical view."""
    p = spec.procedure
    assert p is not None
    world2probe = np.linalg.inv(p.canonical_view.probe2world)
    x, y, _ = (world2probe @ np.array([*p.needle.entry_mm, 1.0]))[:3]
    if abs(x) >= abs(y):
        side = "notch" if x > 0 else "non-notch"
        return f"{abs(x):.0f} mm from the probe centre, off the {side} end of the probe"
    return f"{abs(y):.0f} mm from the probe centre, across the middle of the probe (elevation)"


def build_teaching_html(spec: SceneSpec) -> str:
    """Teaching text of a scene as rich text for ``QTextBrowser``.

    Parameters
    ----------
    spec : SceneSpec
        A procedure scene (all sections) or a demonstration/phantom scene
        (title and description).

    Returns
    -------
    str
        HTML (Qt rich-text subset).
    """
    title = _e(spec.title or spec.name)
    p = spec.procedure
    if p is None:
        out = [f"<h1>{title}</h1>", f"<p>{_e(spec.description)}</p>"]
        if spec.structures:
            names = ", ".join(_e(_human(s.name)) for s in spec.structures)
            out.append(f"<p class='sub'>Structures: {names}</p>")
        out.append("<p class='muted'>A demonstration scene: no procedure, no scoring.</p>")
        return "\n".join(out)

    region = REGION_TITLES.get(p.region, p.region)
    family = FAMILY_TITLES.get(p.family, p.family)
    t, n = p.target, p.needle
    out = [
        f"<h1>{title}</h1>",
        f"<p class='sub'>{_e(region)} · {_e(family)}</p>",
        "<h2>Goal</h2>",
        f"<p><span class='key'>Target:</span> {_e(p.target_text)}</p>",
        f"<p><span class='key'>Success:</span> {_e(t.success)}</p>",
        f"<p><span class='key'>Indication and injectate:</span> {_e(p.indication)}</p>",
    ]
    if t.min_injectate_fraction > 0:
        out.append(
            f"<p><span class='key'>Injectate:</span> at least "
            f"{t.min_injectate_fraction * 100:.0f} % must end up in the target.</p>"
        )
    out += [
        "<h2>Approach and needle</h2>",
        f"<p>{_e(p.approach)}</p>",
        "<ul>",
        f"<li><span class='key'>{_e(n.approach.capitalize())}</span>, {_e(n.direction)}</li>",
        f"<li><span class='key'>Needle:</span> {n.gauge} G, {n.length_mm:.0f} mm</li>",
        f"<li><span class='key'>Entry:</span> {_entry_words(spec)}</li>",
        "</ul>",
        "<h2>Sono-anatomy</h2>",
        f"<p><i>{_e(p.canonical_view.description)}</i></p>",
        "<ul>",
        *(f"<li>{_e(s)}</li>" for s in p.teaching.sono_anatomy),
        "</ul>",
        "<h2>Steps</h2>",
        "<ol>",
        *(f"<li>{_e(s)}</li>" for s in p.teaching.steps),
        "</ol>",
        "<h2>Pitfalls</h2>",
        "<ul>",
        *(f"<li>{_e(s)}</li>" for s in p.teaching.pitfalls),
        "</ul>",
    ]
    avoid = [s for s in spec.structures if s.role == "avoid"]
    if avoid:
        by_harm: dict[str, list[str]] = {}
        for s in avoid:
            by_harm.setdefault(s.harm or "", []).append(s.name.replace("_", " "))
        out.append("<h2>Structures to avoid</h2>")
        out.append("<ul>")
        for harm, names in by_harm.items():
            risk = HARM_TEXT.get(harm, harm.replace("_", " ")) or "injury"
            out.append(
                f"<li><span class='avoid'>{_e(_human(', '.join(names)))}</span>"
                f" — risk: {_e(risk)}</li>"
            )
        out.append("</ul>")
    if p.sources:
        out.append("<h2>Sources</h2>")
        out.append("<p class='small'>" + "<br>".join(_e(s) for s in p.sources) + "</p>")
    return "\n".join(out)
