"""The `loa` commands about identity: `ca` (init, revoke, console), `keys rotate`, `keys gateway` and `keys adopt-root`, and the
`provision` (one unit or a CSV batch, password or certificate) and `broker` (password and/or TLS listener)
commands. tools.cli registers them; this module parses and hands over, and holds no decisions.

Must not import the agent's adapters or runtime.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent import i18n
from agent.errors import ConfigError

if TYPE_CHECKING:
    from tools.provision import UnitSpec


def say(args: argparse.Namespace, message: str, /, **params: Any) -> None:
    print(i18n.render(args.lang, message, params, package="tools.strings"), flush=True)


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


# ---- loa ca ----------------------------------------------------------------------------------------------------------


def cmd_ca_init(args: argparse.Namespace) -> int:
    from province import ca

    authority = ca.init(Path(args.dir))
    say(args, "ca_ready", dir=args.dir, cert=authority.ca_pem, key=authority.root / ca.CA_KEY)
    return 0


def cmd_ca_revoke(args: argparse.Namespace) -> int:
    from province import broker, ca

    if args.broker_dir:
        broker.require(Path(args.broker_dir))  # before anything changes
    revoked = ca.revoke(ca.load(Path(args.dir)), args.device)
    if not revoked:
        raise ConfigError(f"{args.device} has no valid certificate in {args.dir}; nothing revoked")
    say(args, "ca_revoked", dev=args.device, serials=", ".join(f"{r.serial:x}" for r in revoked),
        crl=Path(args.dir) / ca.CRL)
    if args.broker_dir:
        broker.forget(Path(args.broker_dir), args.device)
        running = broker.reload(Path(args.broker_dir))
        say(args, "ca_broker_reloaded" if running else "ca_broker_stopped", broker=args.broker_dir, dev=args.device)
    return 0


def cmd_ca_console(args: argparse.Namespace) -> int:
    from province import broker

    cert = broker.add_console(Path(args.broker_dir), args.name)
    say(args, "ca_console", name=args.name, cert=cert, key=cert.with_suffix(".key"))
    return 0


def _ca_parsers(sub: Any) -> None:
    ca = sub.add_parser("ca", help="the device certificate authority").add_subparsers(dest="ca_command", required=True)
    i = ca.add_parser("init", help="make the CA (key 0600 + certificate) and an empty revocation list")
    i.add_argument("dir")
    i.set_defaults(fn=cmd_ca_init)
    r = ca.add_parser("revoke", help="revoke a unit's certificate; with --broker-dir the broker refuses it at once")
    r.add_argument("dir", help="the CA folder")
    r.add_argument("device")
    r.add_argument("--broker-dir", help="a `loa broker` folder to update and reload")
    r.set_defaults(fn=cmd_ca_revoke)
    c = ca.add_parser("console", help="another console identity (certificate) for a TLS broker")
    c.add_argument("broker_dir")
    c.add_argument("name")
    c.set_defaults(fn=cmd_ca_console)


# ---- loa keys rotate -------------------------------------------------------------------------------------------------


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    from province import keys

    d, audience = Path(args.dir), _audience(args)
    root = Path(args.root) if args.root else d / keys.ROOT
    if args.finish:
        step = keys.finish_rotation(d, root=root, audience=audience, lifetime_s=args.lifetime)
        say(args, "keys_rotate_2", token=step.token_file, audience=audience, signing=d / keys.SIGNING,
            retired=d / keys.RETIRED)
        return 0
    step = keys.rotate(d, root=root, audience=audience, lifetime_s=args.lifetime)
    say(args, "keys_rotate_1", next=d / keys.NEXT, token=step.token_file, audience=audience, args=step.args_file,
        root=root, dir=d)
    return 0


def cmd_keys_adopt_root(args: argparse.Namespace) -> int:
    from province import keys

    d, audience = Path(args.dir), _audience(args)
    step = keys.adopt_root(d, audience=audience, lifetime_s=args.lifetime)
    say(args, "keys_adopt_root", root=d / keys.ROOT, token=step.token_file, audience=audience, args=step.args_file,
        signing=d / keys.SIGNING)
    return 0


def cmd_keys_gateway(args: argparse.Namespace) -> int:
    from province import keys

    d, audience = Path(args.dir), _audience(args)
    root = Path(args.root) if args.root else d / keys.ROOT
    step = keys.add_gateway(d, args.name, groups=tuple(args.grant_group), levels=tuple(args.grant_level), root=root,
                            audience=audience, lifetime_s=args.lifetime)
    say(args, "keys_gateway", name=args.name, key=d / keys.GATEWAYS / f"{args.name}.jwk", token=step.token_file,
        audience=audience, args=step.args_file, root=root)
    return 0


def _audience(args: argparse.Namespace) -> str:
    return f"dev:{args.device}" if args.device else f"grp:{args.group}"


def add_keys_parsers(keys_sub: Any) -> None:
    """Register `rotate`, `gateway` and `adopt-root` under the existing `loa keys` subcommands."""
    k = keys_sub.add_parser("rotate", help="rotate the console's signing key with two config commands signed by the root key")
    k.add_argument("dir")
    k.add_argument("--finish", action="store_true", help="step 2: trust the new key only")
    k.add_argument("--root", help="the offline root key (default: DIR/root/root.jwk)")
    _step_options(k)
    k.set_defaults(fn=cmd_keys_rotate)
    g = keys_sub.add_parser("gateway", help="a gateway's own scoped signing key, added to units by the root key")
    g.add_argument("dir")
    g.add_argument("name")
    g.add_argument("--grant-group", action="append", default=[], help="a group it may address (repeatable; none: all)")
    g.add_argument("--grant-level", action="append", default=[], choices=("normal", "priority", "emergency"),
                   help="a level it may play (repeatable; none: all)")
    g.add_argument("--root", help="the offline root key (default: DIR/root/root.jwk)")
    _step_options(g)
    g.set_defaults(fn=cmd_keys_gateway)
    a = keys_sub.add_parser("adopt-root", help="give a key folder from before key scopes its offline root key")
    a.add_argument("dir")
    _step_options(a)
    a.set_defaults(fn=cmd_keys_adopt_root)


def _step_options(p: Any) -> None:
    target = p.add_mutually_exclusive_group()
    target.add_argument("--group", default="province", help="who receives the config command (default: province)")
    target.add_argument("--device")
    p.add_argument("--lifetime", type=int, default=3600, help="seconds the signed command stays valid")


# ---- loa provision -------------------------------------------------------------------------------------------------


def unit_spec(args: argparse.Namespace, device_id: str) -> UnitSpec:
    from tools.provision import UnitSpec
    from tools.provision_hw import Hardware

    hardware = Hardware(board=args.hw, serial_port=args.serial_port, modem=args.modem, modem_port=args.modem_port,
                        audio_device=args.audio_device, role=args.role, screen=args.screen, monitor=args.monitor)
    return UnitSpec(
        device_id=device_id, trust=Path(args.trust), broker_url=args.broker, out=Path(args.out), hardware=hardware,
        groups=tuple(args.group), audio=args.audio, quiet_hours=args.quiet_hours,
        broker_dir=_path(args.broker_dir), ca=_path(args.ca), ca_dir=_path(args.ca_dir),
        replace=args.replace or args.force, force=args.force, site=_site(args),
        status_port=args.status_port, status_bind=args.status_bind, release_trust=_path(args.release_trust),
    )


def _site(args: argparse.Namespace) -> dict[str, Any]:
    """The commune and the location given on the command line (the location also goes into the config)."""
    site: dict[str, Any] = {"commune": args.commune} if args.commune else {}
    if (args.lat is None) != (args.lon is None):
        raise ConfigError("--lat and --lon: give both or neither")
    if args.lat is not None:
        if not (-90 <= args.lat <= 90 and -180 <= args.lon <= 180):
            raise ConfigError(f"--lat {args.lat} --lon {args.lon}: must be degrees, -90..90 and -180..180")
        site |= {"lat": args.lat, "lon": args.lon}
    return site


def cmd_provision(args: argparse.Namespace) -> int:
    from tools.provision import provision_unit

    if bool(args.device_id) == bool(args.csv):
        raise ConfigError("give one DEVICE_ID, or --csv FILE for a batch (not both)")
    if args.csv:
        return _provision_batch(args)
    made = provision_unit(unit_spec(args, args.device_id))
    say(args, "provisioned", dev=args.device_id, config=made.config)
    say(args, "label_written" if made.label else "label_no_segno", dev=args.device_id, label=made.label)
    say(args, "status_password", dev=args.device_id, password=made.status_password, port=args.status_port)
    return 0


def _provision_batch(args: argparse.Namespace) -> int:
    from tools import provision_batch as batch

    if args.group or args.replace or args.force or args.commune:
        raise ConfigError("--csv: groups and communes come from the file's columns; --replace and --force are for "
                          "one unit at a time")
    passwords = Path(args.passwords) if args.passwords else Path(args.out) / batch.PASSWORDS
    made = batch.provision_all(batch.read_units(Path(args.csv)), unit_spec(args, "batch"), Path(args.out),
                               passwords, args.lang)
    for m in made:
        say(args, "batch_unit", dev=m.row.device_id, bundle=m.bundle, credential=m.credential,
            password=m.status_password)
    say(args, "batch_done", count=len(made), report=Path(args.out) / batch.REPORT)
    if any(m.status_password for m in made):
        say(args, "batch_passwords", path=passwords)
    return 0


def _provision_parser(sub: Any) -> None:
    p = sub.add_parser("provision", help="write a unit's configuration bundle (or one per row of --csv)")
    p.add_argument("device_id", nargs="?")
    p.add_argument("--csv", help="units file: id, commune, lat, lon, groups (separated by ;); --out is the parent")
    p.add_argument("--passwords", help="--csv: where the status page passwords go (mode 0600; default "
                   "OUT/passwords.csv)")
    p.add_argument("--trust", required=True, help="trust.jwks from `loa keys init`")
    p.add_argument("--release-trust", help="release-trust.jwks from `loa release keygen` (without it, updates are refused)")
    p.add_argument("--broker", required=True, help="mqtts://HOST:PORT (or mqtt:// on a trusted network)")
    p.add_argument("--hw", default="fake", help="the relay board: a name from `loa hw list`, or fake (default)")
    p.add_argument("--serial-port", default="", help="the board's serial port (serial, Modbus and co-processor "
                   "boards), e.g. /dev/serial/by-id/usb-...-port0")
    p.add_argument("--modem", default="", help="the 4G modem: a name from `loa hw list`")
    p.add_argument("--modem-port", default="", help="the modem's AT port (default: the one its description gives)")
    p.add_argument("--audio-device", default="", help="the sound output: a name from `loa hw list`")
    p.add_argument("--role", default="cluster", choices=("cluster", "eboard"), help="a loudspeaker cluster or an e-board")
    p.add_argument("--screen", default="", help="e-boards: the screen's WIDTHxHEIGHT, e.g. 1920x1080")
    p.add_argument("--commune", default="", help="the commune printed on the label (default: the first --group)")
    p.add_argument("--lat", type=float, help="where the unit stands: latitude in degrees (WGS 84), with --lon")
    p.add_argument("--lon", type=float, help="longitude in degrees (WGS 84), with --lat")
    p.add_argument("--monitor", default="", help="the unit's health sensors: a name from hw/monitors (default pi-basic)")
    p.add_argument("--group", action="append", default=[])
    p.add_argument("--out", required=True)
    p.add_argument("--audio", help="null, alsa:<device> or wav:<dir> (or --audio-device)")
    p.add_argument("--quiet-hours", help="HH:MM-HH:MM or off")
    p.add_argument("--broker-dir", help="register the unit with a `loa broker` folder (ACL; password without --ca-dir)")
    p.add_argument("--ca", help="CA certificate to pin for mqtts:// (with --ca-dir it is the CA's own)")
    p.add_argument("--ca-dir", help="a `loa ca` folder: the unit gets its own key (in its bundle) and certificate")
    p.add_argument("--replace", action="store_true", help="re-provision: revoke the unit's previous certificate")
    p.add_argument("--force", action="store_true", help="re-provision an existing unit: replace its bundle in --out "
                   "(and revoke its previous certificate)")
    p.add_argument("--status-port", type=int, default=8080, help="the technician's status page (0: none)")
    p.add_argument("--status-bind", default="0.0.0.0", help="address of the status page (the unit's local network)")
    p.set_defaults(fn=cmd_provision)


# ---- loa broker ------------------------------------------------------------------------------------------------------


def cmd_broker(args: argparse.Namespace) -> int:
    from province import broker

    port = None if args.no_password_listener else args.port
    chosen = (Path(args.dir) / "console_port").exists()
    console_port = args.console_port or (None if chosen or port is None else port + 1)
    b = broker.init(Path(args.dir), port, tls_port=args.tls_port, ca_dir=_path(args.ca_dir), bind=args.bind,
                    hosts=tuple(args.host), console_port=console_port)
    if port is not None:
        say(args, "broker_ready", bind=args.bind, port=port, conf=b.conf, console=b.password_file(broker.CONSOLE),
            console_port=b.console_port())
    if args.tls_port is not None:
        say(args, "broker_tls_ready", bind=args.bind, port=args.tls_port, ca=args.ca_dir,
            cert=b.cert_file(broker.CONSOLE))
    os.execv(broker.command(Path(args.dir))[0], broker.command(Path(args.dir)))


def _broker_parser(sub: Any) -> None:
    b = sub.add_parser("broker", help="run a local Mosquitto with a generated locked-down config")
    b.add_argument("dir")
    b.add_argument("--port", type=int, default=1883, help="units' password listener (user name = client id)")
    b.add_argument("--console-port", type=int,
                   help="consoles' password listener (default: the one chosen before, else --port + 1)")
    b.add_argument("--tls-port", type=int, help="TLS listener: client certificates from --ca-dir, name = identity")
    b.add_argument("--ca-dir", help="a `loa ca` folder (needed for --tls-port)")
    b.add_argument("--no-password-listener", action="store_true", help="certificates only (production)")
    b.add_argument("--bind", default="127.0.0.1", help="address to listen on (0.0.0.0: units on the network)")
    b.add_argument("--host", action="append", default=[],
                   help="a name or address units use for the broker (into the server certificate; repeatable)")
    b.set_defaults(fn=cmd_broker)


def add_parsers(sub: Any) -> None:
    """Register `ca`, `provision` and `broker` (they replace tools.cli's own provision and broker parsers)."""
    _ca_parsers(sub)
    _provision_parser(sub)
    _broker_parser(sub)
