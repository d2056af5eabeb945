"""The dashboard's pages, rendered on the server (docs/admin.md, "Dashboard").

Plain HTML with every value escaped (`html.escape`), one stylesheet served by the admin app
itself (`/admin/assets/admin.css`), charts as inline SVG, no script: each action is a form
POST carrying the CSRF token. Nothing is loaded from anywhere else (the pages say so to the
browser: `Content-Security-Policy: default-src 'self'`). The layout is one column on a
phone and the schedule's resources side by side on a wider screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from html import escape
from urllib.parse import quote

from libs.business.profile import BusinessProfile
from services.admin import schemas as out
from services.admin.charts import rate_chart
from services.admin.readmodel import Lane
from services.fsm.formatting import fmt_date, fmt_money, fmt_time

DONE = {"mark": "Marked.", "cancel": "Cancel sent: the customer will be told.",
        "remind": "Reminder sent again.", "takeover": "You have the conversation now: the "
        "bot stays silent.", "release": "The bot has the conversation again.",
        "login": "Signed in."}


def e(value: object) -> str:
    return escape(str(value), quote=True)


def page(title: str, body: str) -> str:
    return ("<!doctype html><html lang=en><head><meta charset=utf-8>"
            "<meta name=viewport content='width=device-width, initial-scale=1'>"
            f"<title>{e(title)}</title>"
            "<link rel=stylesheet href='/admin/assets/admin.css'></head>"
            f"<body>{body}</body></html>")


def login(error: str = "", status: str = "") -> str:
    problem = f"<p class=error role=alert>{e(error)}</p>" if error else ""
    note = f"<p class=muted>{e(status)}</p>" if status else ""
    return page("Sign in · Receptionist admin", f"""
<main class=narrow>
<h1>Receptionist admin</h1>
{problem}{note}
<form method=post action=/admin/login class=login>
<label for=key>Your business's API key</label>
<input id=key name=key type=password autocomplete=off required
 placeholder="rk_yourbusiness_...">
<button type=submit>Sign in</button>
</form>
<p class=muted>Get a key with <code>receptionist business key create BUSINESS_ID</code>;
the demo prints one for each example business.</p>
</main>""")


def _form(action: str, csrf: str, label: str, *, fields: dict[str, str] | None = None,
          css: str = "") -> str:
    hidden = "".join(f"<input type=hidden name={e(k)} value='{e(v)}'>"
                     for k, v in {"csrf": csrf, **(fields or {})}.items())
    return (f"<form method=post action='{e(action)}' class=inline>{hidden}"
            f"<button type=submit class='{e(css)}'>{e(label)}</button></form>")


def _who(c: out.CustomerOut) -> str:
    if c.address.startswith("web:"):
        return "<span class=muted>web chat visitor</span>"
    return f"<a class=tel href='tel:{e(c.address)}'>{e(c.address)}</a>"


def _flags(b: out.BookingOut) -> str:
    flags = [f"<span class='badge status-{e(b.status)}'>{e(b.status.replace('_', '-'))}"
             "</span>"]
    if b.no_show_risk == "high":
        flags.append("<span class='badge risk-high' title='high no-show risk'>⚑ high risk"
                     "</span>")
    elif b.no_show_risk:
        flags.append(f"<span class='badge risk'>{e(b.no_show_risk)} risk</span>")
    if b.attendance_confirmed:
        flags.append("<span class='badge ok'>✓ coming</span>")
    if b.deposit_status != "none":
        amount = f" {e(b.deposit_amount)}" if b.deposit_amount is not None else ""
        flags.append(f"<span class=badge>deposit {e(b.deposit_status)}{amount}</span>")
    return " ".join(flags)


def actions(b: out.BookingOut, now: datetime, csrf: str, day: date) -> str:
    """What can be done to it now: mark once it started; remind, call, cancel before."""
    base = f"/admin/bookings/{quote(b.reference)}"
    back = {"day": day.isoformat()}
    done: list[str] = []
    started = b.starts_at <= now
    if started and b.status in ("confirmed", "completed", "no_show"):
        for outcome, label in (("no_show", "No-show"), ("completed", "Completed")):
            if b.status != outcome:
                done.append(_form(f"{base}/mark", csrf, label,
                                  fields={"outcome": outcome, **back},
                                  css="warn" if outcome == "no_show" else ""))
    if not started and b.status == "confirmed":
        done.append(_form(f"{base}/remind", csrf, "Remind again", fields=back))
    if not b.customer.address.startswith("web:"):
        done.append(f"<a class=button href='tel:{e(b.customer.address)}'>Call</a>")
    if not started and b.status in ("held", "confirmed"):
        done.append("<details class=confirm><summary>Cancel…</summary>"
                    + _form(f"{base}/cancel", csrf, "Cancel this booking", fields=back,
                            css="danger") + "</details>")
    done.append(f"<a class=more href='{e(base)}'>Details</a>")
    return f"<div class=actions>{''.join(done)}</div>"


def _card(b: out.BookingOut, tz_now: datetime, csrf: str, day: date) -> str:
    risky = " high" if b.no_show_risk == "high" else ""
    return (f"<li class='booking{risky}' data-ref='{e(b.reference)}'>"
            f"<div class=when>{e(fmt_time(b.starts_at))}&ndash;{e(fmt_time(b.ends_at))}</div>"
            f"<div class=what><strong>{e(b.service)}</strong> · {_who(b.customer)} "
            f"<span class=ref>{e(b.reference)}</span></div>"
            f"<div class=flags>{_flags(b)}</div>{actions(b, tz_now, csrf, day)}</li>")


def schedule(lanes: Sequence[Lane], now: datetime, csrf: str, day: date) -> str:
    cols = []
    for lane in lanes:
        items = "".join(_card(b, now, csrf, day) for b in lane.bookings) \
            or "<li class=empty>Nothing booked.</li>"
        cols.append(f"<section class=lane><h3>Resource {lane.resource}</h3>"
                    f"<ol class=bookings>{items}</ol></section>")
    return f"<div class=lanes>{''.join(cols)}</div>"


def high_risk_list(bookings: Sequence[out.BookingOut], now: datetime, csrf: str,
                   day: date) -> str:
    if not bookings:
        return "<p class=muted>No high-risk bookings ahead today or tomorrow.</p>"
    items = "".join(
        f"<li class='booking high' data-ref='{e(b.reference)}'><div class=when>"
        f"{e(fmt_date(b.starts_at))} {e(fmt_time(b.starts_at))}</div>"
        f"<div class=what><strong>{e(b.service)}</strong> · {_who(b.customer)} "
        f"<span class=muted>({b.customer.no_shows} no-show"
        f"{'' if b.customer.no_shows == 1 else 's'} before)</span></div>"
        f"{actions(b, now, csrf, day)}</li>" for b in bookings)
    return f"<ol class='bookings risk-list'>{items}</ol>"


def _short_week(key: str) -> str:
    monday = date.fromisoformat(key)
    return f"{monday:%b} {monday.day}"


def _day(value: date) -> str:
    return f"{value:%b} {value.day}, {value.year}"


def charts(a: out.Analytics) -> str:
    ns = a.no_shows
    weeks = [b.model_copy(update={"key": _short_week(b.key)}) for b in ns.by_week]
    overall = ns.overall
    rate = "n/a" if overall.rate is None else f"{overall.rate * 100:.0f}%"
    return (f"<p class=figure><strong>{e(rate)}</strong> of {overall.completed + overall.no_show}"
            f" appointments were no-shows ({e(_day(a.since))} to "
            f"{e(_day(a.until - timedelta(days=1)))})."
            "</p><div class=charts>"
            + rate_chart("No-show rate by weekday", ns.by_weekday)
            + rate_chart("No-show rate by start hour", ns.by_hour)
            + rate_chart("No-show rate by service", ns.by_service)
            + rate_chart("No-show rate by week", weeks, label_every=2)
            + "</div>")


def _money(amount: Decimal, currency: str) -> str:
    return e(fmt_money(amount, currency))


def figures(a: out.Analytics) -> str:
    r, d = a.reminders, a.deposits
    rate = "n/a" if r.rate is None else f"{r.rate * 100:.0f}%"
    return (
        "<dl class=figures>"
        f"<div><dt>Reminder confirmations</dt><dd>{e(rate)} <small>({r.confirmed} of "
        f"{r.reminded} reminded)</small></dd></div>"
        f"<div><dt>Deposits taken</dt><dd>{_money(d.taken.amount, d.currency)} <small>"
        f"({d.taken.count})</small></dd></div>"
        f"<div><dt>Refunded</dt><dd>{_money(d.refunded.amount, d.currency)} <small>"
        f"({d.refunded.count})</small></dd></div>"
        f"<div><dt>Forfeited</dt><dd>{_money(d.forfeited.amount, d.currency)} <small>"
        f"({d.forfeited.count})</small></dd></div>"
        f"<div><dt>Revenue deposits kept</dt><dd>{_money(d.kept_revenue, d.currency)}</dd>"
        "</div></dl>")


def waitlist(w: out.Waitlist) -> str:
    counts = " · ".join(f"{e(k)} {v}" for k, v in w.by_status.items() if v)
    rows = "".join(
        f"<li>{e(fmt_date(x.starts_at))} {e(fmt_time(x.starts_at))} · {e(x.service)} · "
        f"#{x.position} {_who(x.customer)} <span class=badge>{e(x.status)}</span></li>"
        for x in w.waiting[:10])
    waiting = f"<ol class=plain>{rows}</ol>" if rows else \
        "<p class=muted>Nobody is waiting for a time ahead.</p>"
    return (f"<p class=figure><strong>{w.openings_filled}</strong> opening"
            f"{'' if w.openings_filled == 1 else 's'} filled from the waitlist"
            f"{(' · ' + counts) if counts else ''}.</p>{waiting}")


def watch_list(ranked: Sequence[out.CustomerRank]) -> str:
    if not ranked:
        return "<p class=muted>No customer has a record yet.</p>"
    rows = "".join(
        f"<li>{_who(r.customer)} · {r.reliability * 100:.0f}% reliable "
        f"<small>(kept {r.customer.kept}, no-shows {r.customer.no_shows}, late cancels "
        f"{r.customer.late_cancels})</small></li>" for r in ranked)
    return f"<ol class=plain>{rows}</ol>"


def dashboard(profile: BusinessProfile, *, day: date, now: datetime, lanes: Sequence[Lane],
              high_risk: Sequence[out.BookingOut], analytics: out.Analytics,
              least_reliable: Sequence[out.CustomerRank], csrf: str, done: str = "") -> str:
    today = now.date()
    title = "Today" if day == today else fmt_date(day)
    flash = f"<p class=flash role=status>{e(DONE[done])}</p>" if done in DONE else ""
    before, after = day - timedelta(days=1), day + timedelta(days=1)
    nav = (f"<nav class=days><a href='/admin?day={e(before)}'>&lsaquo; "
           f"{e(fmt_date(before))}</a><a href='/admin'>Today</a>"
           f"<a href='/admin?day={e(after)}'>{e(fmt_date(after))} &rsaquo;</a></nav>")
    body = f"""
<header class=top><h1>{e(profile.name)}</h1>
{_form('/admin/logout', csrf, 'Sign out', css='quiet')}</header>
<main>
{flash}
<section id=schedule><h2>{e(title)} <small>{e(fmt_date(day))}</small></h2>{nav}
{schedule(lanes, now, csrf, day)}</section>
<section id=high-risk><h2>High risk</h2>{high_risk_list(high_risk, now, csrf, day)}</section>
<section id=no-shows><h2>No-shows</h2>{charts(analytics)}</section>
<section id=figures><h2>Reminders and deposits</h2>{figures(analytics)}</section>
<section id=waitlist><h2>Waitlist</h2>{waitlist(analytics.waitlist)}</section>
<section id=watch><h2>Least reliable customers</h2>{watch_list(least_reliable)}</section>
</main>"""
    return page(f"{profile.name} · Receptionist admin", body)


def booking(profile: BusinessProfile, d: out.BookingDetail, *, now: datetime, csrf: str,
            done: str = "") -> str:
    b = d.booking
    flash = f"<p class=flash role=status>{e(DONE[done])}</p>" if done in DONE else ""
    conv = d.conversation
    talk = "<p class=muted>No conversation yet.</p>"
    if conv is not None:
        state = ("<strong>A person has this conversation</strong>: the bot records and "
                 "answers nothing." if conv.taken_over else
                 f"The bot has this conversation ({e(conv.state)}, {e(conv.channel)}).")
        toggle = _form(f"/admin/customers/{b.customer.id}/takeover", csrf,
                       "Give it back to the bot" if conv.taken_over else "Take over",
                       fields={"on": "false" if conv.taken_over else "true",
                               "ref": b.reference})
        received = "".join(f"<li><small>{e(fmt_date(m.received_at))} "
                           f"{e(fmt_time(m.received_at))}</small> {e(m.text)}</li>"
                           for m in conv.received_while_taken_over)
        talk = (f"<p>{state}</p>{toggle}"
                + (f"<h3>They wrote, while a person had it</h3><ol class=plain>{received}</ol>"
                   if received else ""))
    sent = "".join(f"<li><small>{e(fmt_date(m.at))} {e(fmt_time(m.at))} · {e(m.purpose)} · "
                   f"{e(m.status)}</small><br>{e(m.text)}</li>" for m in d.messages) \
        or "<li class=muted>Nothing sent yet.</li>"
    paid = "".join(f"<li>{_money(p.amount, p.currency)} · {e(p.status)}"
                   + (f" · refunded {_money(p.refunded_amount, p.currency)}"
                      if p.refunded_amount else "") + "</li>" for p in d.payments) \
        or "<li class=muted>No payments.</li>"
    body = f"""
<header class=top><h1><a href='/admin'>{e(profile.name)}</a></h1></header>
<main>{flash}
<section><h2>{e(b.service)} · {e(fmt_date(b.starts_at))} {e(fmt_time(b.starts_at))}
<span class=ref>{e(b.reference)}</span></h2>
<p>{_who(b.customer)} · kept {b.customer.kept}, no-shows {b.customer.no_shows}, late cancels
{b.customer.late_cancels}</p><p class=flags>{_flags(b)}</p>
{actions(b, now, csrf, b.starts_at.date())}</section>
<section><h2>Conversation</h2>{talk}</section>
<section><h2>Messages sent</h2><ol class='plain messages'>{sent}</ol></section>
<section><h2>Payments</h2><ol class=plain>{paid}</ol></section>
</main>"""
    return page(f"{b.reference} · {profile.name}", body)


CSS = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2329;
background:#f4f5f7}
a{color:#1b5fae}
h1{font-size:1.25rem;margin:0}
h1 a{color:inherit;text-decoration:none}
h2{font-size:1.1rem;margin:0 0 .5rem}
h3{font-size:.95rem;margin:.25rem 0 .5rem;color:#444}
small,.muted{color:#666}
.top{display:flex;justify-content:space-between;align-items:center;padding:.75rem 1rem;
background:#1d2329;color:#fff}
.top a,.top button.quiet{color:#fff}
main{padding:.75rem;max-width:1100px;margin:0 auto}
main.narrow{max-width:420px;padding-top:2rem}
section{background:#fff;border-radius:10px;padding:.85rem;margin:0 0 .85rem;
box-shadow:0 1px 2px rgba(0,0,0,.08)}
.days{display:flex;justify-content:space-between;gap:.5rem;margin:0 0 .6rem;font-size:.9rem}
.lanes{display:grid;gap:.75rem}
@media (min-width:700px){.lanes{grid-template-columns:repeat(auto-fit,minmax(260px,1fr))}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:.75rem}}
.lane{padding:0;box-shadow:none;margin:0}
ol.bookings,ol.plain{list-style:none;margin:0;padding:0}
ol.plain li{padding:.35rem 0;border-bottom:1px solid #eee}
.booking{border:1px solid #dfe3e8;border-left:5px solid #7a8896;border-radius:8px;
padding:.6rem;margin:0 0 .6rem;background:#fff}
.booking.high{border-left-color:#c0392b;background:#fff7f6}
.when{font-weight:600}
.ref{font:12px ui-monospace,monospace;color:#555;margin-left:.25rem}
.badge{display:inline-block;font-size:.75rem;padding:.1rem .45rem;border-radius:999px;
background:#eef1f4;margin:.15rem .15rem 0 0}
.risk-high{background:#c0392b;color:#fff}
.ok{background:#e3f4e8;color:#1e6b34}
.status-no_show,.status-cancelled,.status-expired{background:#fdecea;color:#8a1f14}
.status-completed{background:#e3f4e8;color:#1e6b34}
.actions{display:flex;flex-wrap:wrap;gap:.4rem;margin-top:.5rem;align-items:center}
form.inline{display:inline;margin:0}
button,.button{font:inherit;font-size:.9rem;min-height:40px;padding:.4rem .8rem;
border-radius:8px;border:1px solid #b8c0c8;background:#fff;color:#1d2329;cursor:pointer;
text-decoration:none;display:inline-flex;align-items:center}
button.warn{border-color:#c0392b;color:#c0392b}
button.danger{background:#c0392b;border-color:#c0392b;color:#fff}
button.quiet{background:transparent;border-color:#5c6670}
details.confirm summary{cursor:pointer;min-height:40px;display:inline-flex;align-items:center;
padding:.4rem .6rem;border:1px solid #b8c0c8;border-radius:8px;font-size:.9rem}
details.confirm[open]{flex-basis:100%}
.more{font-size:.9rem;margin-left:auto}
.empty{color:#777;padding:.4rem 0}
.flash{background:#e3f4e8;border-radius:8px;padding:.6rem;margin:0 0 .75rem}
.error{background:#fdecea;border-radius:8px;padding:.6rem;color:#8a1f14}
.figure{margin:.25rem 0 .75rem}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:.6rem;
margin:0}
.figures div{background:#f4f5f7;border-radius:8px;padding:.5rem}
.figures dt{font-size:.8rem;color:#555}.figures dd{margin:0;font-size:1.1rem}
figure.chart{margin:0 0 .75rem}
figure.chart figcaption{font-size:.85rem;color:#444;margin-bottom:.25rem}
.login label{display:block;margin:.5rem 0 .25rem}
.login input{width:100%;font:inherit;padding:.6rem;border:1px solid #b8c0c8;border-radius:8px;
margin-bottom:.75rem}
code{font-size:.85em;background:#eef1f4;padding:.05rem .3rem;border-radius:4px}
"""
