"""Sharing's routes: the learner's choices and reads (the portal), partners' feeds and requests.
The hub's events that partners' feeds are made of are routed in feeds.py (`EVENT_ROUTES`)."""

from contracts.sharing import (
    AcknowledgeNotices,
    Backfill,
    Nominate,
    PreviewView,
    ReadDisclosures,
    ReadOwnRecord,
    RequestRecord,
    SetRestrictedView,
    SetSharing,
    Subscribe,
    Unsubscribe,
    WithdrawNomination,
)
from hub.pipeline.route import PARTNERS, PORTAL, Route
from hub.pipeline.routing import SHARING_QUEUE
from hub.sharing import consent, feeds, partners

ROUTES: tuple[Route, ...] = (
    Route(SetSharing, consent.set_sharing, PORTAL, SHARING_QUEUE),
    Route(SetRestrictedView, consent.set_restricted_view, PORTAL, SHARING_QUEUE),
    Route(Nominate, consent.nominate, PORTAL, SHARING_QUEUE),
    Route(WithdrawNomination, consent.withdraw_nomination, PORTAL, SHARING_QUEUE),
    # A learner's reads of her record go with her choices, which they show.
    Route(ReadOwnRecord, consent.read_record, PORTAL, SHARING_QUEUE),
    Route(PreviewView, consent.preview, PORTAL, SHARING_QUEUE),
    Route(ReadDisclosures, consent.read_disclosures, PORTAL, SHARING_QUEUE),
    Route(Subscribe, feeds.subscribe, PARTNERS, SHARING_QUEUE),
    Route(Unsubscribe, feeds.unsubscribe, PARTNERS, SHARING_QUEUE),
    Route(Backfill, feeds.backfill, PARTNERS, SHARING_QUEUE),
    Route(RequestRecord, partners.request_record, PARTNERS, SHARING_QUEUE),
    Route(AcknowledgeNotices, partners.acknowledge, PARTNERS, SHARING_QUEUE),
)
