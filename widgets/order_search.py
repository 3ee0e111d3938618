"""WISMO: the "where is my order?" dock a customer-service agent uses during a call.

Built from plain callables so it knows nothing of the tower: ``search(text)`` returns
``OrderMatch`` hits (order id, parcel id, customer name, phone or address fragment) and
``answer(order_id)`` the ``order_answer`` dictionary (or None). Everything shown comes from
outside and is set as plain text, never as markup.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.order_search import OrderMatch
from app.foundation.time_text import TimeText
from widgets.table_docks import fit_beside

Answer = dict[str, Any]
_ORDER_ROLE = Qt.ItemDataRole.UserRole


class OrderSearchDock(QDockWidget):
    """Search box, hits, and one view of the chosen order; ``locate`` asks the map to focus."""

    locate = Signal(float, float)  # lat, lon of the order's van (or of the order itself)
    orderSelected = Signal(str)

    def __init__(
        self,
        search: Callable[[str], list[OrderMatch]],
        answer: Callable[[str], Answer | None],
        times: TimeText,
        *,
        debounce_ms: int = 150,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Where is my order?", parent)
        self.setObjectName("OrderSearchDock")
        self._search, self._answer, self._times = search, answer, times
        self._order_id: str | None = None
        self._place: tuple[float, float] | None = None
        body = QWidget(self)
        layout = QVBoxLayout(body)
        self.query = QLineEdit(body)
        self.query.setObjectName("OrderSearchBox")
        self.query.setPlaceholderText("Order, parcel, name, phone or address")
        self.query.setClearButtonEnabled(True)
        layout.addWidget(self.query)
        split = QSplitter(Qt.Orientation.Vertical, body)
        self.results = QListWidget(split)
        self.results.setObjectName("OrderSearchResults")
        details = QWidget(split)
        form = QFormLayout(details)
        self.labels: dict[str, QLabel] = {}
        for key, title in (
            ("order", "Order"),
            ("customer", "Customer"),
            ("status", "Status"),
            ("vehicle", "Vehicle"),
            ("eta", "ETA"),
            ("window", "Window"),
            ("parcels", "Parcels"),
            ("reason", "Failure"),
            ("pod", "Proof of delivery"),
        ):
            label = QLabel(details)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            self.labels[key] = label
            form.addRow(title, label)
        self.show_on_map = QPushButton("Show on map", details)
        self.show_on_map.setEnabled(False)
        form.addRow(self.show_on_map)
        self.timeline = QTreeWidget(details)
        self.timeline.setObjectName("OrderTimeline")
        self.timeline.setHeaderLabels(["Time", "Event", "Vehicle", "Place", "POD / note"])
        fit_beside(self.timeline.header(), stretch=(3, 4))
        self.timeline.setRootIsDecorated(False)
        form.addRow(self.timeline)
        split.addWidget(self.results)
        split.addWidget(details)
        layout.addWidget(split)
        self.setWidget(body)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(debounce_ms)
        self._debounce.timeout.connect(self.run_search)
        self.query.textChanged.connect(lambda _text: self._debounce.start())
        self.query.returnPressed.connect(self._on_return)
        self.results.currentItemChanged.connect(self._on_current)
        self.show_on_map.clicked.connect(self._emit_locate)

    # -- public -----------------------------------------------------------------------

    def focus_search(self) -> None:
        """Show the dock and put the cursor in the search box (bind Ctrl+F to this)."""
        self.show()
        self.raise_()
        self.query.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.query.selectAll()

    def run_search(self) -> None:
        """Search now for what the box says and list the hits (the first is selected)."""
        self._debounce.stop()
        hits = self._search(self.query.text())
        self.results.blockSignals(True)
        self.results.clear()
        for hit in hits:
            item = QListWidgetItem(f"{hit.order_id}  ·  {hit.customer_name}  ·  {hit.address}")
            item.setData(_ORDER_ROLE, hit.order_id)
            item.setToolTip(f"matched on {hit.matched_on}")
            self.results.addItem(item)
        self.results.blockSignals(False)
        if hits:
            self.results.setCurrentRow(0)
        else:
            self.show_order(None)

    def show_order(self, order_id: str | None) -> None:
        """Answer for ``order_id`` (None clears the view)."""
        self._order_id = order_id
        data = self._answer(order_id) if order_id else None
        self._fill(data)
        if order_id:
            self.orderSelected.emit(order_id)

    def refresh(self) -> None:
        """Re-ask the answer of the shown order (call on each live batch for a live ETA)."""
        if self._order_id is not None:
            self._fill(self._answer(self._order_id))

    @property
    def order_id(self) -> str | None:
        """The order shown, if any."""
        return self._order_id

    # -- internals --------------------------------------------------------------------

    def _on_return(self) -> None:
        self.run_search()

    def _on_current(self, current: QListWidgetItem | None, _previous: object) -> None:
        self.show_order(None if current is None else str(current.data(_ORDER_ROLE)))

    def _emit_locate(self) -> None:
        if self._place is not None:
            self.locate.emit(*self._place)

    def _time(self, ts: float | None) -> str:
        return self._times.hm(ts)

    def _fill(self, a: Answer | None) -> None:
        self.timeline.clear()
        if a is None:
            for label in self.labels.values():
                label.setText("")
            self._place = None
            self.show_on_map.setEnabled(False)
            return
        window = a.get("window")
        eta = a.get("eta")
        eta_text = "—" if eta is None else self._time(eta)
        if eta is not None and window:
            if eta > window["end"]:
                eta_text += f"  (late: {round((eta - window['end']) / 60)} min after the window)"
            elif eta < window["start"]:
                eta_text += "  (early: waits for the window)"
            else:
                eta_text += "  (within the window)"
        if eta is not None and a.get("planned") is not None:
            eta_text += f"  planned {self._time(a['planned'])}"
        retry = a.get("retry")
        if eta is None and retry:
            eta_text = f"{self._time(retry['eta'])}  (planned retry on {retry['vehicle']})"
        parcels = ", ".join(f"{p['id']} {p['status']}" for p in a.get("parcels", []))
        pod = a.get("pod")
        reason = a.get("reason_text") or a.get("reason")
        failure = f"{reason}; {a.get('next_step') or ''}".strip("; ") if reason else "—"
        if retry and reason:
            failure += f"; retry planned {self._time(retry['eta'])} on {retry['vehicle']}"
        texts = {
            "order": str(a.get("order", "")),
            "customer": f"{a.get('customer', '')}  {a.get('phone', '')}\n{a.get('address', '')}",
            "status": str(a.get("status", "")).replace("_", " "),
            "vehicle": a.get("vehicle") or "not planned",
            "eta": eta_text,
            "window": f"{self._time(window['start'])}–{self._time(window['end'])}"
            if window
            else "—",
            "parcels": parcels or "—",
            "reason": failure,
            "pod": f"{pod['kind']}: {pod['ref']}" if pod else "—",
        }
        for key, text in texts.items():
            self.labels[key].setText(text)
        for entry in a.get("timeline", []):
            place = entry.get("place") or ""
            if not place and entry.get("lat") is not None:
                place = f"{entry['lat']:.5f}, {entry['lon']:.5f}"
            notes = []
            if entry.get("pod"):
                notes.append(f"{entry['pod']['kind']} {entry['pod']['ref']}")
            if entry.get("reason"):
                notes.append(str(entry.get("reason_text") or entry["reason"]))
            if entry.get("inferred"):
                notes.append("inferred from positions")
            if entry.get("flag"):
                notes.append(f"flag: {entry['flag']}")
            item = QTreeWidgetItem(
                [
                    self._time(entry.get("ts")),
                    str(entry.get("type", "")),
                    str(entry.get("vehicle", "")),
                    place,
                    "; ".join(notes),
                ]
            )
            self.timeline.addTopLevelItem(item)
        position = a.get("position")
        if position:
            self._place = (float(position["lat"]), float(position["lon"]))
        else:
            last = [e for e in a.get("timeline", []) if e.get("lat") is not None]
            self._place = (float(last[-1]["lat"]), float(last[-1]["lon"])) if last else None
        self.show_on_map.setEnabled(self._place is not None)
