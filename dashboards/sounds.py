"""Optional interface sounds, synthesised in the browser with WebAudio (no audio files); off by default.

Python raises ``chime`` (a counter) with a ``tone``; the browser plays a short envelope-shaped oscillator
note when ``enabled`` is on. Nothing is sent when sounds are off."""

from __future__ import annotations

import param
from panel.custom import JSComponent

TONES = {"ok": 880.0, "error": 196.0, "click": 660.0}


class SoundBoard(JSComponent):
    enabled = param.Boolean(default=False)
    chime = param.Integer(default=0)
    frequency = param.Number(default=TONES["click"])

    _esm = """
    let context = null;
    function play(frequency) {
      context = context || new (window.AudioContext || window.webkitAudioContext)();
      const oscillator = context.createOscillator();
      const gain = context.createGain();
      oscillator.type = "sine";
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, context.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.15, context.currentTime + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, context.currentTime + 0.18);
      oscillator.connect(gain).connect(context.destination);
      oscillator.start();
      oscillator.stop(context.currentTime + 0.2);
    }
    export function render({ model }) {
      model.on("chime", () => { if (model.enabled) { play(model.frequency); } });
      const marker = document.createElement("span");
      marker.dataset.testid = "soundboard";
      return marker;
    }
    """

    def play(self, tone: str) -> None:
        if self.enabled:
            self.param.update(frequency=TONES.get(tone, TONES["click"]), chime=self.chime + 1)
