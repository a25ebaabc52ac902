"""EspeakSpeech against the real espeak-ng and ffmpeg; the MP3 is then decoded by real libVLC."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.adapters.audio.espeak_tts import EspeakSpeech, parse_voice_list
from agent.adapters.audio.vlc_player import VlcPlayer
from agent.errors import AudioError
from agent.ports import SpeechSynth
from tests.agent.adapters.audio.sound_helpers import EventLog, measure_wav

BULLETIN = "Thông báo khẩn cấp: bão số 3 đang đổ bộ"


def test_vietnamese_with_full_diacritics_gives_speech(tmp_path: Path) -> None:
    synth: SpeechSynth = EspeakSpeech(tmp_path)  # the adapter satisfies the port (checked by mypy)
    wav = synth.synthesize(BULLETIN, "vi")
    got = measure_wav(wav)
    assert 1.5 < got.seconds < 10.0
    assert got.rms > 0.02  # speech, not silence (silence is 0.0)


def test_same_text_is_served_from_the_cache_and_other_text_is_not(tmp_path: Path) -> None:
    tts = EspeakSpeech(tmp_path)
    first = tts.synthesize(BULLETIN, "vi")
    first_bytes = first.read_bytes()
    broken = EspeakSpeech(tmp_path, espeak="/nonexistent/espeak-ng")
    broken.__dict__["languages"] = frozenset({"vi"})  # skip asking the missing program for voices
    assert broken.synthesize(BULLETIN, "vi") == first  # cached: espeak-ng not needed
    assert first.read_bytes() == first_bytes
    assert tts.synthesize(BULLETIN.replace("3", "4"), "vi") != first
    assert tts.synthesize(BULLETIN, "vi-vn-x-south") != first


def test_unknown_language_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match=r"no voice for language 'vn'.*did you mean .*vi"):
        EspeakSpeech(tmp_path).synthesize(BULLETIN, "vn")  # the country code, a likely slip


def test_voice_map_picks_the_southern_voice(tmp_path: Path) -> None:
    tts = EspeakSpeech(tmp_path, voices={"vi": "vi-vn-x-south"})
    assert measure_wav(tts.synthesize(BULLETIN, "vi")).rms > 0.02


def test_mp3_of_the_speech_decodes_in_libvlc(tmp_path: Path) -> None:
    tts = EspeakSpeech(tmp_path / "tts")
    wav = tts.synthesize(BULLETIN, "vi")
    mp3 = tts.to_mp3(wav)
    head = mp3.read_bytes()[:3]
    assert head == b"ID3" or (head[0] == 0xFF and head[1] & 0xE0 == 0xE0)  # an MP3, not a renamed WAV
    player, events = VlcPlayer(f"wav:{tmp_path / 'out'}"), EventLog()
    try:
        player.play("tts", str(mp3), volume_pct=100, on_event=events)
        events.wait("finished", 10.0)
    finally:
        player.close()
    decoded, source = measure_wav(tmp_path / "out" / "tts.wav"), measure_wav(wav)
    assert decoded.seconds == pytest.approx(source.seconds, rel=0.08)
    assert decoded.rms > 0.02


def test_voice_list_parsing() -> None:
    listing = "Pty Language Age/Gender VoiceName File Other Languages\n 5  vi  --/M  Vietnamese_(Northern) aav/vi\n"
    assert parse_voice_list(listing) == {"vi"}
