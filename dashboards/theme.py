"""The three looks of the command deck. Switching sets the Page's ``dark_theme`` and ``theme_config`` (the
Material UI theme), which panel-material-ui applies in place, without a reload."""

from __future__ import annotations

from typing import Any

from dashboards.users import Theme

THEME_CONFIGS: dict[Theme, dict[str, Any]] = {
    Theme.DARK: {
        "palette": {
            "primary": {"main": "#4fc3f7"},
            "secondary": {"main": "#ffb300"},
            "background": {"default": "#10141a", "paper": "#171d25"},
        }
    },
    Theme.LIGHT: {
        "palette": {
            "primary": {"main": "#1565c0"},
            "secondary": {"main": "#ef6c00"},
            "background": {"default": "#f4f6f8", "paper": "#ffffff"},
        }
    },
    Theme.MATRIX: {
        "palette": {
            "primary": {"main": "#00ff41", "contrastText": "#001a00"},
            "secondary": {"main": "#008f11", "contrastText": "#001a00"},
            "background": {"default": "#000000", "paper": "#020d02"},
            "text": {"primary": "#00ff41", "secondary": "#00c832"},
        },
        "typography": {"fontFamily": "'DejaVu Sans Mono', 'Courier New', monospace"},
    },
}


def is_dark(theme: Theme) -> bool:
    return theme != Theme.LIGHT


# LEDs and the LCD; colours follow the rack's legend (amber deploying, blue busy, green running...)
DECK_CSS = """
.px-lcd { font-family: 'DejaVu Sans Mono', monospace; background: #0b1f0b; color: #7dff7d;
  border: 2px solid #2e4d2e; border-radius: 6px; padding: 6px 8px; font-size: 12px; min-height: 34px;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.px-led { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 6px;
  background: #777; vertical-align: middle; }
.px-led.running { background: #2ecc40; box-shadow: 0 0 6px #2ecc40; animation: px-pulse 2s infinite; }
.px-led.stopped { background: #8a8a8a; }
.px-led.deploying { background: #ffb300; box-shadow: 0 0 6px #ffb300; }
.px-led.busy { background: #2196f3; box-shadow: 0 0 6px #2196f3; }
.px-led.failed, .px-led.missing { background: #ff4136; box-shadow: 0 0 6px #ff4136; }
@keyframes px-pulse { 50% { opacity: .55; } }
.px-table { border-collapse: collapse; width: 100%; font-size: 13px; }
.px-table th, .px-table td { text-align: left; padding: 4px 8px; border-bottom: 1px solid rgba(128,128,128,.3); }
.px-log { font-family: 'DejaVu Sans Mono', monospace; font-size: 12px; margin: 0; white-space: pre-wrap; }
.px-card-glyph { display: inline-block; width: 28px; height: 28px; border-radius: 6px; text-align: center;
  line-height: 28px; color: #fff; font-weight: bold; margin-right: 6px; }
"""
