// The TV's celebration of a won deal: a card with confetti over the ticker panel (never over
// the leaderboard), and an optional chime behind a visible mute button (off until switched on:
// browsers only play sound after a click anyway).
import { el, fill, t } from "/static/core.js";

const SOUND_KEY = "salespulse.sound";
const COLOURS = ["#f2cc60", "#3fb950", "#2f81f7", "#f85149", "#a371f7", "#ffffff"];
let hideTimer = null;
let audio = null;

export const soundOn = () => localStorage.getItem(SOUND_KEY) === "on";

export function muteButton() {
  const button = el("button", { id: "sound", class: "sound", type: "button" });
  const show = () => {
    button.textContent = soundOn() ? `🔔 ${t("tv.sound_on")}` : `🔕 ${t("tv.sound_off")}`;
    button.setAttribute("aria-pressed", String(soundOn()));
    button.title = soundOn() ? t("tv.mute") : t("tv.unmute");
  };
  button.addEventListener("click", () => {
    localStorage.setItem(SOUND_KEY, soundOn() ? "off" : "on");
    show();
    if (soundOn()) chime(0.15);
  });
  show();
  return button;
}

// Three rising notes, synthesised: no sound file to fetch.
function chime(volume = 0.25) {
  try {
    audio = audio || new AudioContext();
    const now = audio.currentTime;
    [523.25, 659.25, 783.99, 1046.5].forEach((freq, i) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "triangle";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0, now + i * 0.12);
      gain.gain.linearRampToValueAtTime(volume, now + i * 0.12 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.001, now + i * 0.12 + 0.6);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + i * 0.12);
      osc.stop(now + i * 0.12 + 0.65);
    });
  } catch {
    // No audio device (a headless TV box): the celebration stays visual.
  }
}

function confetti(n = 60) {
  return Array.from({ length: n }, (_, i) => el("i", {
    class: "confetto",
    style: `left:${(i * 37) % 100}%;background:${COLOURS[i % COLOURS.length]};`
      + `animation-delay:${(i % 12) * 0.08}s;animation-duration:${2.2 + (i % 5) * 0.35}s;`
      + `transform:rotate(${(i * 47) % 360}deg)`,
  }));
}

// `lines`: [headline, amount, detail, extra]; the card stays for `ms` milliseconds.
export function celebrate(kind, lines, ms = 6000) {
  const box = document.getElementById("banner");
  const [who, amount, detail, extra] = lines;
  fill(box,
    el("div", { class: "confetti", "aria-hidden": "true" }, confetti()),
    el("div", { class: "card" },
      el("div", { class: "kind" }, kind === "deal_won" ? `🎉 ${t("tv.deal_won")}` : `🏁 ${t("tv.milestone")}`),
      el("div", { class: "who" }, who),
      el("div", { class: "amount" }, amount),
      detail ? el("div", { class: "detail" }, detail) : null,
      extra ? el("div", { class: "extra" }, extra) : null));
  box.hidden = false;
  box.classList.remove("go");
  void box.offsetWidth;  // restart the animation for a second win in a row
  box.classList.add("go");
  if (soundOn()) chime();
  clearTimeout(hideTimer);
  hideTimer = setTimeout(() => { box.hidden = true; box.classList.remove("go"); }, ms);
}
