"""The Panel dashboard: the All-is-Rack command deck."""
