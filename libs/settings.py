"""Configuration from the environment only (`.env` is read when present); no default secrets."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(
        default="postgresql+psycopg://postgres@127.0.0.1:5432/receptionist",
        description="PostgreSQL; any postgresql:// URL is used through psycopg 3",
    )
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    bus_prefix: str = Field(default="receptionist", description="exchange and queue name prefix")
    bus_prefetch: int = Field(default=200, ge=1, le=1000,
                              description="unacked messages per consumer, at most; a process "
                                          "takes no more than its pool can serve")
    db_pool_size: int = Field(default=8, ge=3, le=100,
                              description="database connections this process may hold")
    bus_user_passwords: str = Field(
        default="", description="`receptionist bus users` only: each service's broker "
                                "password, a JSON object of service name to password")
    bus_management_url: str = Field(
        default="", description="RabbitMQ management API for `receptionist bus users`; empty: "
                                "the AMQP host on port 15672")
    bus_retry_delays_ms: tuple[int, ...] = (1_000, 10_000, 60_000)
    bus_delivery_limit: int = 10
    outbox_poll_ms: int = 1000
    retention_days: int = Field(
        default=7, ge=1,
        description="inbox, outbox, fired timers and webhook events are kept this long; "
                    "longer than any redelivery (Stripe retries webhooks for 3 days)")

    public_base_url: str = Field(
        default="http://localhost:8000",
        description="the URL providers call; Twilio signs the public URL, not the internal one",
    )
    twilio_auth_token: str | None = None
    whatsapp_app_secret: str | None = None
    whatsapp_verify_token: str | None = None
    twilio_account_sid: str | None = Field(
        default=None, description="notifier: the Twilio account SMS is sent from (with "
                                  "TWILIO_AUTH_TOKEN); unset or blank: SMS is recorded, "
                                  "not sent")
    twilio_api_base_url: str = Field(
        default="", description="notifier: where Twilio's REST API is reached (a local stub "
                                "in tests); empty: Twilio's own")
    whatsapp_access_token: str | None = Field(
        default=None, description="notifier: WhatsApp Cloud API access token (a system "
                                  "user's); unset or blank: WhatsApp is recorded, not sent")
    whatsapp_api_base_url: str = Field(
        default="https://graph.facebook.com",
        description="notifier: the Graph API's base URL (a local stub in tests)")
    whatsapp_api_version: str = Field(default="v21.0", pattern=r"^v\d+\.\d+$",
                                      description="notifier: the Graph API version")
    whatsapp_template_name: str | None = Field(
        default=None, description="notifier: the approved template (one body variable) "
                                  "sent outside WhatsApp's 24-hour window, for businesses "
                                  "whose profile names none; unset: such messages fail")
    whatsapp_template_language: str = Field(
        default="en_US", description="notifier: that template's language code")
    notifier_send_attempts: int = Field(
        default=4, ge=1, le=10, description="notifier: provider calls per message, at most, "
                                            "when the provider answers 429 or 5xx or cannot "
                                            "be reached; then the message is dead-lettered")
    notifier_retry_budget_s: float = Field(
        default=30.0, ge=0, le=300, description="notifier: seconds one message may wait "
                                                "between those attempts, in total")
    notifier_request_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="notifier: seconds per provider request")
    stripe_api_key: str | None = None
    stripe_webhook_secret: str | None = None
    payments_gateway: str = Field(default="stripe", pattern="^(stripe|offline)$",
                                  description="offline: the local checkout page, no Stripe")
    google_service_account_path: str | None = Field(
        default=None, description="calendar: the Google service account's JSON key file; "
                                  "unset or blank: calendar sync is off (no queue, no polls)")
    google_calendar_id: str | None = Field(
        default=None, description="calendar: the Google Calendar bookings are mirrored into "
                                  "for businesses whose profile names none (calendar_id); "
                                  "unset: only those that do are synced")
    calendar_busy_poll_minutes: int = Field(
        default=5, ge=1, le=1440, description="calendar: how often each business's Google "
                                              "free/busy is read for times to block")
    google_api_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="calendar: seconds per Google API request")
    webchat_replies_url: str = Field(
        default="", description="where the web chat page reads replies (notifier's HTTP "
                                "server); empty: the page's own origin")
    webchat_origins: tuple[str, ...] = Field(
        default=(), description="origins whose web chat page may read the reply stream from "
                                "notifier's port (JSON list); none needed when one origin "
                                "serves both")
    webchat_secret: str | None = Field(
        default=None, description="signs web chat session tokens (HMAC-SHA256) and keys the "
                                  "hash of a visitor's IP; unset or blank: web chat is "
                                  "refused (503). ingress and notifier must share it")
    webchat_session_ttl_s: int = Field(
        default=24 * 3600, ge=60, description="how long a web chat session token is valid")
    webchat_ip_per_minute: float = Field(
        default=30, gt=0, description="web chat requests per minute from one client IP")
    webchat_ip_burst: int = Field(default=20, ge=1,
                                  description="requests one IP may make at once")
    webchat_session_per_minute: float = Field(
        default=12, gt=0, description="web chat messages per minute in one session")
    webchat_session_burst: int = Field(default=8, ge=1,
                                       description="messages one session may send at once")
    webchat_business_per_minute: float = Field(
        default=600, gt=0, description="web chat requests per minute to one business")
    webchat_business_burst: int = Field(default=200, ge=1,
                                        description="requests one business may take at once")
    webchat_max_live_bookings: int = Field(
        default=2, ge=0, description="live (held or confirmed) bookings one web chat session "
                                     "may hold; beyond it the visitor is given the phone")
    webchat_max_bookings_per_ip: int = Field(
        default=4, ge=0, description="bookings one IP (all its web chat sessions) may make at "
                                     "one business in 24 hours")
    forwarded_allow_ips: str = Field(
        default="127.0.0.1", description="proxies whose X-Forwarded-For uvicorn trusts for "
                                         "the client address (comma-separated; uvicorn's own "
                                         "setting); rate limits and caps key on that address")
    admin_session_secret: str | None = Field(
        default=None, description="admin: signs the dashboard's session cookies and CSRF "
                                  "tokens (HMAC-SHA256); unset or blank: a random one per "
                                  "process (sessions end when it restarts; replicas must "
                                  "share one)")
    admin_session_ttl_s: int = Field(
        default=12 * 3600, ge=60, description="admin: how long a dashboard login lasts")
    admin_failed_keys_per_minute: float = Field(
        default=6, gt=0, description="admin: failed API key attempts per minute allowed from "
                                     "one client IP (a token bucket); beyond it, 429")
    admin_failed_keys_burst: int = Field(
        default=10, ge=1, description="admin: failed key attempts one IP may make at once")
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = Field(
        default="json", description="json: one JSON object per line, for log collectors; "
                                    "text: plain lines for people at a terminal")
    ops_host: str = Field(default="127.0.0.1",
                          description="address of each process's /healthz, /readyz and "
                                      "/metrics server (0.0.0.0 to be scraped from outside)")
    ops_port: int = Field(default=9100, ge=0, le=65535,
                          description="port of that server; 0 turns it off")
    shutdown_grace_s: float = Field(
        default=30.0, ge=0,
        description="on SIGTERM, how long messages, timers and requests being handled may "
                    "take to finish; what is unfinished then is left unacked, redelivered")


@lru_cache
def get_settings() -> Settings:
    return Settings()
