"""Downloading pretrained models: streaming with progress, resume, servers without Range, integrity checks,
cancel, unreachable hosts, and the safe import and model card after a download (a local server on 127.0.0.1)."""
from __future__ import annotations

import errno
import hashlib
import json
import urllib.error
from pathlib import Path

import pytest

from ganstudio.core import pretrained
from ganstudio.core.download import DownloadError, download, part_path
from ganstudio.core.errors import Cancelled, CheckpointError
from ganstudio.core.pretrained import Licence, PretrainedModel, fetch, find_model, models_dir, status
from tests.http_fixtures import Served, closed_port, http_server
from tests.imported_fixtures import TINY, random_generator, write_nvidia_pickle

DATA = bytes(range(256)) * 1200  # 307,200 bytes: several chunks


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def one_sentence(message: str) -> None:
    assert "\n" not in message and "Traceback" not in message and len(message) < 400


def test_download_streams_with_progress_and_renames_into_place(tmp_path):
    calls = []
    with http_server(Served({"f.bin": DATA})) as served:
        got = download(served.url("f.bin"), tmp_path / "f.bin", size=len(DATA), sha256=sha(DATA),
                       progress=lambda done, total: calls.append((done, total)))
    assert (tmp_path / "f.bin").read_bytes() == DATA and not part_path(tmp_path / "f.bin").exists()
    assert got.size == len(DATA) and got.sha256 == sha(DATA) and not got.resumed
    assert calls[0] == (0, len(DATA)) and calls[-1] == (len(DATA), len(DATA)) and len(calls) > 3
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_an_interrupted_download_resumes_with_a_range_request(tmp_path):
    dest = tmp_path / "f.bin"
    with http_server(Served({"f.bin": DATA}, cut_after=100_000)) as served:
        with pytest.raises(DownloadError) as info:
            download(served.url("f.bin"), dest, sha256=sha(DATA))
        message = str(info.value)
        one_sentence(message)
        assert "interrupted after" in message and "run it again to resume" in message
        assert not dest.exists() and part_path(dest).stat().st_size == 100_000
        got = download(served.url("f.bin"), dest, sha256=sha(DATA))
    assert served.requests == ["", "bytes=100000-"]
    assert got.resumed and dest.read_bytes() == DATA and got.sha256 == sha(DATA)


def test_a_redirected_download_resumes_at_the_new_place(tmp_path):
    dest = tmp_path / "f.bin"
    with http_server(Served({"signed/f.bin": DATA}, redirects={"files/f.bin": "signed/f.bin"},
                            cut_after=50_000)) as served:
        with pytest.raises(DownloadError, match="interrupted after 50.0 KB"):
            download(served.url("files/f.bin"), dest)
        got = download(served.url("files/f.bin"), dest, sha256=sha(DATA))
    assert served.requests == ["", "", "bytes=50000-", "bytes=50000-"] and got.resumed and dest.read_bytes() == DATA


def test_a_server_without_range_support_starts_over(tmp_path):
    dest = tmp_path / "f.bin"
    part_path(dest).write_bytes(b"x" * 5000)  # wrong bytes: a resume would corrupt the file
    with http_server(Served({"f.bin": DATA}, range_ok=False)) as served:
        got = download(served.url("f.bin"), dest, size=len(DATA))
    assert served.requests == ["bytes=5000-"] and not got.resumed
    assert dest.read_bytes() == DATA and got.sha256 == sha(DATA)


def test_a_range_other_than_asked_for_or_refused_starts_over(tmp_path):
    dest = tmp_path / "f.bin"
    part_path(dest).write_bytes(DATA[:1000])
    with http_server(Served({"f.bin": DATA}, whole_as_range=True)) as served:
        got = download(served.url("f.bin"), dest)
    assert served.requests == ["bytes=1000-", ""] and not got.resumed and dest.read_bytes() == DATA
    dest.unlink()
    part_path(dest).write_bytes(b"y" * (len(DATA) + 10))  # longer than the file: the server answers 416
    with http_server(Served({"f.bin": DATA})) as served:
        got = download(served.url("f.bin"), dest)
    assert served.requests == [f"bytes={len(DATA) + 10}-", ""] and dest.read_bytes() == DATA


def test_a_checksum_mismatch_is_refused_and_the_file_removed(tmp_path):
    dest = tmp_path / "f.bin"
    with http_server(Served({"f.bin": DATA})) as served:
        with pytest.raises(DownloadError) as info:
            download(served.url("f.bin"), dest, sha256="0" * 64)
        one_sentence(str(info.value))
        assert "failed its integrity check" in str(info.value) and "removed" in str(info.value)
        assert not dest.exists() and not part_path(dest).exists()
        with pytest.raises(DownloadError, match="offers f.bin with 307 KB, not the expected 1.0 MB"):
            download(served.url("f.bin"), dest, size=1_000_000)
    assert not dest.exists()


def test_cancel_keeps_the_partial_file_for_a_resume(tmp_path):
    dest = tmp_path / "f.bin"
    seen = []
    with http_server(Served({"f.bin": DATA})) as served:
        with pytest.raises(Cancelled) as info:
            download(served.url("f.bin"), dest, progress=lambda d, t: seen.append(d),
                     cancelled=lambda: len(seen) > 2)
        assert "cancelled" in str(info.value) and "resumes" in str(info.value)
        assert not dest.exists() and 0 < part_path(dest).stat().st_size < len(DATA)
        assert download(served.url("f.bin"), dest).resumed and dest.read_bytes() == DATA


def test_an_unreachable_host_is_one_sentence(tmp_path):
    port = closed_port()
    with pytest.raises(DownloadError) as info:
        download(f"http://127.0.0.1:{port}/ffhq.pkl", tmp_path / "ffhq.pkl", by_hand="download it by hand")
    message = str(info.value)
    one_sentence(message)
    assert message == "could not reach 127.0.0.1: the connection was refused; download it by hand"
    assert not list(tmp_path.iterdir())


def test_no_network_names_the_host_and_what_to_do(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError(OSError(errno.ENETUNREACH, "Network is unreachable"))

    monkeypatch.setattr("urllib.request.urlopen", offline)
    model = find_model("stylegan2-ada-ffhq-1024")
    with pytest.raises(DownloadError) as info:
        fetch(model, tmp_path)
    assert str(info.value) == (
        "could not reach nvlabs-fi-cdn.nvidia.com: the network is unreachable; download "
        "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/ffhq.pkl by hand and open it with "
        "File > Open checkpoint (or --checkpoint FILE)")


def test_an_error_status_is_one_sentence(tmp_path):
    with http_server(Served(status=404)) as served:
        with pytest.raises(DownloadError, match=r"^127.0.0.1 answered 404 Not Found for http://127.0.0.1:\d+/x.pkl; "):
            download(served.url("x.pkl"), tmp_path / "x.pkl")


# -- the catalogue and fetch ------------------------------------------------------------------------------------


def test_the_catalogue_lists_nvidia_releases_with_their_licence():
    models = pretrained.catalogue()
    keys = {m.key for m in models}
    for key in ("stylegan2-ada-ffhq-1024", "stylegan2-ada-metfaces-1024", "stylegan2-ada-afhqcat-512",
                "stylegan2-ada-afhqdog-512", "stylegan2-ada-afhqwild-512", "stylegan2-ada-cifar10-32",
                "stylegan2-ada-brecahad-512", "stylegan3-t-ffhq-1024", "stylegan3-r-ffhqu-256",
                "stylegan3-t-ffhqu-1024", "stylegan3-r-afhqv2-512", "stylegan3-t-metfacesu-1024"):
        assert key in keys
    assert len(keys) == len(models)
    for m in models:
        assert m.url.startswith("https://") and m.url.endswith(".pkl")
        assert "non-commercial" in m.licence.text() and m.licence.url.startswith("https://")
    assert find_model("stylegan2-ada-cifar10-32").classes == 10
    with pytest.raises(Exception, match="no pretrained model 'ffhq'.*stylegan2-ada-ffhq-1024"):
        find_model("ffhq")


def test_models_dir_flag_env_and_default(tmp_path, monkeypatch):
    monkeypatch.delenv(pretrained.MODELS_ENV, raising=False)
    assert models_dir().parts[-2:] == ("GANStudio", "models")
    monkeypatch.setenv(pretrained.MODELS_ENV, str(tmp_path / "env"))
    assert models_dir() == tmp_path / "env"
    assert models_dir(tmp_path / "flag") == tmp_path / "flag"


def tiny_release(tmp_path: Path, url: str, **kw) -> PretrainedModel:
    return PretrainedModel("tiny-ffhq-16", "Tiny faces 16", "StyleGAN2-ADA", "test", 16, url,
                           Licence("NVIDIA Source Code License-NC", "https://example.org/licence",
                                   "non-commercial use only"), **kw)


def nvidia_pickle(tmp_path: Path) -> bytes:
    return write_nvidia_pickle(tmp_path / "src.pkl", random_generator(), TINY).read_bytes()


def test_fetch_imports_safely_shows_the_card_and_records_the_checksum(tmp_path):
    data = nvidia_pickle(tmp_path)
    folder = tmp_path / "models"
    with http_server(Served({"net.pkl": data})) as served:
        model = tiny_release(tmp_path, served.url("net.pkl"))
        assert status(model, folder).text() == "not downloaded"
        got = fetch(model, folder)
        assert got.downloaded and got.path == folder / "tiny-ffhq-16.pkl" and got.path.read_bytes() == data
        assert got.card["source_sha256"] == sha(data) and got.card["kwargs"]["img_resolution"] == 16
        assert "non-commercial" in got.card["licence"] and "16 px" in got.summary()
        assert json.loads((folder / "checksums.json").read_text())["tiny-ffhq-16.pkl"] == {
            "size": len(data), "sha256": sha(data), "url": served.url("net.pkl")}
        assert status(model, folder).downloaded and status(model, folder).text() == "downloaded"
        again = fetch(model, folder)  # there already: not downloaded again
        assert not again.downloaded and len(served.requests) == 1
        # a later download is checked against the recorded checksum
        got.path.unlink()
        served.files["net.pkl"] = data[:-1] + bytes([data[-1] ^ 1])
        with pytest.raises(DownloadError, match="failed its integrity check"):
            fetch(model, folder)
    assert not got.path.exists()
    # a file put there by other means is checked against the record too
    got.path.write_bytes(served.files["net.pkl"])
    with pytest.raises(CheckpointError, match=r"tiny-ffhq-16.pkl in .* is not the file that was downloaded"):
        fetch(model, folder)


def test_a_download_that_is_not_a_network_is_removed(tmp_path):
    folder = tmp_path / "models"
    with http_server(Served({"net.pkl": b"<html>Sign in to download</html>"})) as served:
        model = tiny_release(tmp_path, served.url("net.pkl"))
        with pytest.raises(CheckpointError) as info:
            fetch(model, folder)
    one_sentence(str(info.value))
    assert "is not the network it should be, so it was removed" in str(info.value)
    assert not model.path(folder).exists() and not (folder / "checksums.json").exists()


def test_status_shows_a_partial_download(tmp_path):
    model = tiny_release(tmp_path, "http://127.0.0.1:1/x.pkl")
    part_path(model.path(tmp_path)).write_bytes(b"x" * 2000)
    assert status(model, tmp_path).text() == "partly (2.0 KB)"


# -- the command line ---------------------------------------------------------------------------------------------


def test_cli_models_list_and_get(tmp_path, monkeypatch, capsys):
    from ganstudio.cli import main

    data = nvidia_pickle(tmp_path)
    folder = tmp_path / "models"
    assert main(["models", "list", "--dir", str(folder)]) == 0
    out, err = capsys.readouterr()
    header, first = out.splitlines()[:2]
    assert header.split() == ["NAME", "MODEL", "RES", "SIZE", "LICENCE", "HERE"]
    assert first.split() == ["stylegan2-ada-ffhq-1024", "StyleGAN2-ADA", "1024", "unpublished", "non-commercial",
                             "not", "downloaded"]
    assert f"Models folder: {folder}" in err and "non-commercial use only" in err
    with http_server(Served({"net.pkl": data})) as served:
        model = tiny_release(tmp_path, served.url("net.pkl"))
        monkeypatch.setattr(pretrained, "catalogue", lambda path=None: [model])
        assert main(["models", "get", "tiny-ffhq-16", "--dir", str(folder)]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == str(folder / "tiny-ffhq-16.pkl") and (folder / "tiny-ffhq-16.pkl").read_bytes() == data
    assert "Licence: NVIDIA Source Code License-NC: non-commercial use only" in err
    assert "Downloaded:" in err and "16 px" in err and "B/s" in err  # the model card and the progress bar
    assert main(["models", "list", "--dir", str(folder)]) == 0
    row = capsys.readouterr().out.splitlines()[1].split()
    assert row[0] == "tiny-ffhq-16" and row[-1] == "downloaded" and row[3:5] == [f"{len(data) / 1e3:.0f}", "KB"]


def test_cli_models_get_offline_is_one_line(tmp_path, monkeypatch, capsys):
    from ganstudio.cli import main

    model = tiny_release(tmp_path, f"http://127.0.0.1:{closed_port()}/net.pkl")
    monkeypatch.setattr(pretrained, "catalogue", lambda path=None: [model])
    assert main(["models", "get", "tiny-ffhq-16", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("ganstudio models: error: could not reach 127.0.0.1: the connection was refused; "
                          "download http://127.0.0.1:")
    assert err.endswith("by hand and open it with File > Open checkpoint (or --checkpoint FILE)")
    assert main(["models", "get", "nothing-like-it"]) == 1
    assert "there is no pretrained model 'nothing-like-it'" in capsys.readouterr().err


def test_two_downloads_of_one_file_at_once_share_it_safely(tmp_path):
    import threading

    from ganstudio.core.download import lock_path

    dest, results, errors = tmp_path / "f.bin", {}, []
    first_running = threading.Event()
    waiting = []

    def run(name, **kw):
        try:
            results[name] = download(served.url("f.bin"), dest, sha256=sha(DATA), **kw)
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)

    with http_server(Served({"f.bin": DATA}, delay_s=0.01)) as served:  # about 0.75 s for the whole body
        first = threading.Thread(target=run, args=("first",),
                                 kwargs={"progress": lambda done, total: first_running.set()})
        first.start()
        assert first_running.wait(30)
        second = threading.Thread(target=run, args=("second",),
                                  kwargs={"progress": lambda done, total: waiting.append(done)})
        second.start()
        first.join(60)
        second.join(60)
    assert not errors, errors
    assert served.requests == [""], "the second download waited for the first and reused its file"
    assert dest.read_bytes() == DATA and results["second"].reused and not results["first"].reused
    assert results["second"].sha256 == sha(DATA) and waiting  # it showed the first one's progress meanwhile
    assert not part_path(dest).exists() and not lock_path(dest).exists()


def test_a_download_waiting_for_another_can_be_cancelled(tmp_path):
    import threading

    dest = tmp_path / "f.bin"
    first_running = threading.Event()
    with http_server(Served({"f.bin": DATA}, delay_s=0.01)) as served:
        first = threading.Thread(target=download, args=(served.url("f.bin"), dest),
                                 kwargs={"progress": lambda done, total: first_running.set()})
        first.start()
        assert first_running.wait(30)
        with pytest.raises(Cancelled, match="cancelled while it waited for another download of the same file"):
            download(served.url("f.bin"), dest, cancelled=lambda: True)
        first.join(60)
    assert served.requests == [""] and dest.read_bytes() == DATA
