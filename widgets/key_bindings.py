"""Every key a window answers to, read off its actions, shortcuts and mnemonics.

The help dialog lists them and a test checks that no key is bound twice where both
bindings can be live at once: Qt then fires neither ("Ambiguous shortcut overload").
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractButton, QDockWidget, QLabel, QMenu, QMenuBar, QWidget


@dataclass(frozen=True)
class KeyBinding:
    """One key sequence bound to one thing that answers it.

    ``owner`` is the QAction, QShortcut, button, label or menu bar that receives the key;
    ``widgets`` the widgets it is bound on (for an action in a menu: the menu bar's window,
    where the key works); ``context`` Qt's shortcut context (a mnemonic, the Alt+letter of
    an underlined label, is window-wide).
    """

    keys: QKeySequence
    what: str
    where: str
    owner: QObject
    context: Qt.ShortcutContext
    widgets: tuple[QWidget, ...]
    mnemonic: bool = False

    @property
    def text(self) -> str:
        """The keys as this platform writes them ("Ctrl+Shift+T")."""
        return self.keys.toString(QKeySequence.SequenceFormat.NativeText)


def plain(text: str) -> str:
    """A label without its mnemonic marks and trailing ellipsis ("&Resolve…" -> "Resolve")."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…. ")


def key_bindings(root: QWidget) -> list[KeyBinding]:
    """Every key binding of ``root`` and of the widgets and dialogs it owns: actions,
    then shortcuts, then mnemonics."""
    widgets = [root, *root.findChildren(QWidget)]
    actions: dict[int, QAction] = {}
    for action in root.findChildren(QAction):
        actions.setdefault(id(action), action)
    for widget in widgets:
        for action in widget.actions():
            actions.setdefault(id(action), action)
    found: list[KeyBinding] = []
    for action in actions.values():
        bound = _action_widgets(action)
        if bound and not action.menu():  # a submenu's action opens it, by its mnemonic
            what, where = _what(action), _where(action, bound)
            found += [
                KeyBinding(k, what, where, action, action.shortcutContext(), bound)
                for k in action.shortcuts()
                if not k.isEmpty()
            ]
    for shortcut in root.findChildren(QShortcut):
        parent = shortcut.parent()
        if isinstance(parent, QWidget):
            text = shortcut.whatsThis() or shortcut.objectName() or "(unnamed shortcut)"
            bound_keys = shortcut.keys()  # (a QShortcut's keys, not a mapping's)
            found += [
                KeyBinding(k, text, _where_widget(parent), shortcut, shortcut.context(), (parent,))
                for k in bound_keys
                if not k.isEmpty()
            ]
    found += _mnemonics(widgets)
    return found


def _mnemonics(widgets: list[QWidget]) -> list[KeyBinding]:
    """Alt+letter of menu titles, buttons and labels with a buddy: window-wide keys too."""
    found = []
    for widget in widgets:
        if isinstance(widget, QMenuBar):
            labelled: list[tuple[str, QObject]] = [(a.text(), a) for a in widget.actions()]
        elif isinstance(widget, QAbstractButton) or (
            isinstance(widget, QLabel) and widget.buddy() is not None
        ):
            labelled = [(widget.text(), widget)]
        else:
            continue
        for text, owner in labelled:
            keys = QKeySequence.mnemonic(text)
            if not keys.isEmpty():
                found.append(
                    KeyBinding(
                        keys,
                        plain(text),
                        _where_widget(widget),
                        owner,
                        Qt.ShortcutContext.WindowShortcut,
                        (widget,),
                        mnemonic=True,
                    )
                )
    return found


def _action_widgets(action: QAction) -> tuple[QWidget, ...]:
    """The widgets whose window an action's key works in (a menu's: its menu bar's)."""
    bound: list[QWidget] = []
    for thing in action.associatedObjects():
        if isinstance(thing, QMenu):
            bound += _action_widgets(thing.menuAction())
        elif isinstance(thing, QWidget):
            bound.append(thing)
    return tuple(bound)


def _what(action: QAction) -> str:
    """What an action does; a dock's toggle is named after the dock, not its live title."""
    dock = action.parent()
    if isinstance(dock, QDockWidget) and action is dock.toggleViewAction():
        return f"Show or hide {_title(dock)}"
    return plain(action.text())


def _where(action: QAction, bound: tuple[QWidget, ...]) -> str:
    """The menu an action sits in, or else the panel or dialog it belongs to."""
    for thing in action.associatedObjects():
        if isinstance(thing, QMenu):
            return plain(thing.title())
    return _where_widget(bound[0])


def _where_widget(widget: QWidget) -> str:
    """The dock or window a widget is part of, by its title without its live counts."""
    node: QWidget | None = widget
    while node is not None and not isinstance(node, QDockWidget) and not node.isWindow():
        node = node.parentWidget()
    return _title(node or widget)


def _title(widget: QWidget) -> str:
    """A window's or dock's title without what follows a dash or colon (counts, ids)."""
    return widget.windowTitle().split(" — ")[0].split(":")[0]
