"""The control tower's core: no Qt here, testable with Qt uninstalled."""
