"""support-bot's conversations (OTLP/JSON): an outdoor-gear shop's chat assistant.

Why these: customers answer after idle waits, lookups run in parallel, and the escalations come
in all three kinds (needed, premature, futile); nightly replays ask both models the same first
message, so the dashboard can pair them by it. CSAT scores become evaluation events.
"""

from __future__ import annotations

from _model import Agent, Run
from _scripts import play_all, variants

SUPPORT_BOT = Agent(
    "support-bot",
    "You are the support assistant of Northwind Outfitters, an outdoor-gear shop. Verify the "
    "customer before changing an order, follow the refund policy (up to EUR 150 without "
    "approval), and hand over to a human agent when asked.",
    2900,
    "conv_",
)

SUPPORT_SCRIPTS = r"""
## where-is-48213 @ 13 09:12 | score=1
user Hi, where is my order NW-48213? It was supposed to arrive on Tuesday.
use claude-haiku-4-5
~ Let me pull up your account and the order.
tool get_customer {"email": "jana.keller@example.com"} => {"customer_id": "C-20931", "name": "Jana Keller", "tier": "standard", "verified": true}
& lookup_order {"order_id": "NW-48213"} => {"order_id": "NW-48213", "status": "shipped", "carrier": "DHL", "tracking_no": "JJD0099482213", "promised": "Tuesday"}
tool track_shipment {"tracking_no": "JJD0099482213"} => {"last_scan": "Leipzig hub", "delayed": true, "reason": "weather", "new_eta": "Friday"}
> Sorry for the wait, Jana. Your parcel is held at the DHL hub in Leipzig because of the weather; DHL now expects to deliver it on Friday.
wait 95 ok thanks. can you send me the tracking link?
> Of course: https://www.dhl.de/en/privatkunden/dhl-sendungsverfolgung.html?piececode=JJD0099482213. DHL will also e-mail you when it is out for delivery.

## change-address-48877 @ 13 15:40
user I moved last week. Can you change the delivery address for order NW-48877 to Bergstrasse 12, 80331 Munich?
use claude-haiku-4-5
tool get_customer {"email": "t.nguyen@example.com"} => {"customer_id": "C-31877", "name": "Thi Nguyen", "tier": "plus", "verified": true}
& lookup_order {"order_id": "NW-48877"} => {"order_id": "NW-48877", "status": "processing", "ships_in_hours": 20, "address": "Am Anger 3, 04109 Leipzig"}
tool update_address {"order_id": "NW-48877", "address": "Bergstrasse 12, 80331 Munich"} => {"ok": true, "order_id": "NW-48877", "address": "Bergstrasse 12, 80331 Munich"}
> Done. Order NW-48877 will go to Bergstrasse 12, 80331 Munich. It has not shipped yet, so the change is in time.

## return-jacket @ 12 11:02 | score=0.8
user How do I return a jacket that doesn't fit? I bought it three weeks ago.
use claude-haiku-4-5
tool search_kb {"query": "return clothing policy"} => [KB-104] Returns: unworn items within 30 days, free return label from the account page, refund to the original payment method within 5 business days of arrival.
> You can return it for free: the jacket must be unworn and back with us within 30 days of delivery, so you are in time. Print the return label from Your orders > Return, and the refund reaches your original payment method within 5 business days of arrival.
wait 41 Can I exchange it for a size L instead?
tool search_kb {"query": "exchange size"} => [KB-117] Exchanges: choose "Exchange" instead of "Return" on the return page; the new size ships when the original is scanned by the carrier.
> Yes. On the same page, choose Exchange instead of Return and pick size L. We ship the L as soon as the carrier scans your parcel, so you do not wait for it to reach our warehouse.

## discount-code-winter15 @ 12 16:25
user My discount code WINTER15 isn't working at checkout.
use claude-haiku-4-5
tool check_promo {"code": "WINTER15"} => {"code": "WINTER15", "valid": true, "min_order_eur": 80, "excludes": ["sale items", "gift cards"]}
> WINTER15 is valid, but it needs a basket of at least EUR 80 excluding sale items and gift cards. If your basket has sale items, they do not count towards the EUR 80.

## broken-zipper-47102 @ 11 10:48 | score=0.8
user The zipper on my Trailhead 28 backpack broke after two weeks. Order NW-47102.
use claude-haiku-4-5
tool lookup_order {"order_id": "NW-47102"} => {"order_id": "NW-47102", "delivered": "16 days ago", "items": [{"sku": "TH28-GRN", "name": "Trailhead 28 backpack", "price_eur": 119.0}]}
tool create_ticket {"order_id": "NW-47102", "type": "warranty", "summary": "Trailhead 28 zipper broke after 2 weeks", "priority": "normal"} => {"ticket_id": "T-77120", "queue": "warranty", "sla_hours": 48}
> I'm sorry about that. The backpack is covered by our 2-year warranty, and I opened warranty case T-77120. The team will e-mail you a free return label within 48 hours, and you can choose a repair or a replacement.

## shipping-to-norway @ 10 13:13
user Do you ship to Norway, and how much does it cost?
use claude-haiku-4-5
tool search_kb {"query": "shipping Norway non-EU cost customs"} => [KB-088] Norway: DHL Express, EUR 14.90, free above EUR 150; 2-4 business days; duties and VAT are charged by the carrier on delivery.
> Yes, we ship to Norway with DHL Express for EUR 14.90 (free above EUR 150), usually in 2 to 4 business days. Norway is outside the EU, so DHL collects import VAT and any duties on delivery.

## double-charge-48550 @ 9 09:57 | score=1
user I was charged twice for order NW-48550, EUR 89.90 each time.
use claude-haiku-4-5
tool lookup_order {"order_id": "NW-48550"} => {"order_id": "NW-48550", "total_eur": 89.9, "payments": [{"id": "pi_3QxA1", "amount_eur": 89.9, "status": "captured"}, {"id": "pi_3QxA2", "amount_eur": 89.9, "status": "captured"}]}
~ Two captures for one order: refunding the duplicate.
tool issue_refund {"order_id": "NW-48550", "payment_id": "pi_3QxA2", "amount_eur": 89.9, "reason": "duplicate charge"} => {"ok": true, "refund_id": "re_8812", "eta_days": 5}
> You're right, the payment went through twice. I refunded the duplicate EUR 89.90 (refund re_8812); it should show on your statement within 5 business days.

## cancel-order-48901 @ 8 14:02
user Please cancel order NW-48901, I ordered the wrong size.
use claude-haiku-4-5
tool lookup_order {"order_id": "NW-48901"} => {"order_id": "NW-48901", "status": "processing", "total_eur": 64.5}
tool cancel_order {"order_id": "NW-48901", "reason": "wrong size"} => {"ok": true, "refund_eur": 64.5}
> Order NW-48901 is cancelled and the EUR 64.50 goes back to your card. Would you like me to help you find the right size?
wait 188 no thanks, I'll order again myself
> All right. Happy shopping, and thanks for letting us know.

## tent-warranty @ 7 12:31
user What's the warranty on the Trailblazer 2 tent? The pole snapped.
use claude-haiku-4-5
tool search_kb {"query": "tent warranty poles"} => [KB-131] Tents: 2-year warranty on materials and workmanship; spare poles are sent free within the warranty; damage from wind above 60 km/h is excluded.
> The Trailblazer 2 has a 2-year warranty, and within it we send spare poles free of charge, unless the pole broke in winds above 60 km/h. Send me the order number and I will request a replacement pole.

## missing-refund-46320 @ 6 10:20
user I never received my refund for order NW-46320. It's been 12 days.
use claude-haiku-4-5
tool lookup_order {"order_id": "NW-46320"} => {"order_id": "NW-46320", "refund": {"id": "re_8120", "amount_eur": 42.0, "issued": "9 days ago", "method": "visa **** 4411"}}
> Your refund of EUR 42.00 was issued 9 days ago to your Visa ending 4411 (refund re_8120). Card refunds can take up to 10 business days to appear; if it is not there by Friday, your bank can trace it with that reference.
wait 240 ok, I'll check with my bank
> Thanks for your patience. If the bank needs anything from us, just reply here.

## password-reset-email @ 4 17:45
user How do I reset my password? The reset email never arrives.
use claude-haiku-4-5
tool get_customer {"email": "m.rossi@example.com"} => {"customer_id": "C-11402", "name": "Marco Rossi", "email_status": "bounced", "last_bounce": "mailbox full"}
> The reset e-mails bounce because your mailbox (m.rossi@example.com) reports that it is full. Free some space and request the reset again, or tell me another address and I will update it after a quick check.

## alpine-40l-stock @ 2 08:55
user Is the Alpine 40L backpack back in stock in blue?
use claude-haiku-4-5
tool check_stock {"sku": "ALP40-BLU"} => {"sku": "ALP40-BLU", "in_stock": 0, "restock": "in about 10 days"}
> The blue Alpine 40L is sold out; the next delivery is expected in about 10 days. I can notify you by e-mail when it is back.
wait 63 yes please
tool create_stock_alert {"sku": "ALP40-BLU", "email": "k.obi@example.com"} => {"ok": true}
> Done, you will get an e-mail at k.obi@example.com as soon as it is back in stock.

## partial-refund-47950 @ 5 11:37 | score=1
user I returned two items from order NW-47950 but was only refunded for one. I want the rest of my money back.
use claude-haiku-4-5
tool lookup_order {"order_id": "NW-47950"} => {"order_id": "NW-47950", "returned": ["Fjell fleece EUR 79.00", "Merino socks EUR 24.00"], "refunded_eur": 79.0, "payments": ["card EUR 39.00", "gift card EUR 64.00"]}
~ Refunding the socks.
tool issue_refund {"order_id": "NW-47950", "amount_eur": 24.0, "reason": "returned item not refunded"} =! RefundRejected: amount exceeds the refundable balance of the card payment (EUR 0.00 left)
~ Retrying the refund.
tool issue_refund {"order_id": "NW-47950", "amount_eur": 24.0, "reason": "returned item not refunded"} =! RefundRejected: amount exceeds the refundable balance of the card payment (EUR 0.00 left)
~ Retrying the refund.
tool issue_refund {"order_id": "NW-47950", "amount_eur": 24.0, "reason": "returned item not refunded"} =! RefundRejected: amount exceeds the refundable balance of the card payment (EUR 0.00 left)
use claude-sonnet-4
~ The card part (EUR 39) was already used up by the fleece refund; the rest of that refund came from the gift card. The socks must go back to the gift card.
tool issue_refund {"order_id": "NW-47950", "amount_eur": 24.0, "method": "gift_card", "reason": "returned item not refunded"} => {"ok": true, "refund_id": "re_8931", "method": "gift card"}
> Sorry about that. The first refund used up your card payment, so the EUR 24.00 for the socks could only go back to the gift card you paid with. It is on the gift card now (refund re_8931) and you can use it right away.

## damaged-order-48004 @ 3 16:08 | score=0.6
user This is the third time I'm writing. Order NW-48004 arrived with a broken stove and if this isn't fixed today I'm talking to a lawyer.
use claude-haiku-4-5
tool get_customer {"email": "r.fischer@example.com"} => {"customer_id": "C-40220", "name": "Ralf Fischer", "open_tickets": 2, "verified": true}
use claude-sonnet-4
tool lookup_order {"order_id": "NW-48004"} => {"order_id": "NW-48004", "items": [{"name": "Primus Lite stove", "price_eur": 69.0}], "delivered": "5 days ago"}
tool issue_refund {"order_id": "NW-48004", "amount_eur": 69.0, "reason": "arrived damaged"} => {"ok": true, "refund_id": "re_8977"}
& create_ticket {"order_id": "NW-48004", "type": "complaint", "summary": "third contact, damaged stove, refunded", "priority": "high"} => {"ticket_id": "T-77641", "queue": "escalations"}
> I'm sorry it took three messages, Ralf. I refunded the full EUR 69.00 for the stove (re_8977) today; you do not need to send it back. I also flagged your case T-77641 so a team lead reviews why the earlier messages went unanswered.

## locked-account @ 1 13:22 | error=HandoffRequired: account unlock needs a human agent
user My account got locked after the password reset and I can't log in to see my orders.
use claude-haiku-4-5
tool get_customer {"email": "s.berg@example.com"} => {"customer_id": "C-50318", "name": "Sofie Berg", "locked": true, "lock_reason": "fraud_review"}
tool unlock_account {"customer_id": "C-50318"} =! PermissionDenied: support-bot cannot unlock accounts under fraud review
tool unlock_account {"customer_id": "C-50318"} =! PermissionDenied: support-bot cannot unlock accounts under fraud review
tool unlock_account {"customer_id": "C-50318"} =! PermissionDenied: support-bot cannot unlock accounts under fraud review
use claude-sonnet-4
tool unlock_account {"customer_id": "C-50318", "override": true} =! PermissionDenied: override requires the fraud-review role
tool create_ticket {"customer_id": "C-50318", "type": "account", "summary": "locked after reset, fraud review", "priority": "high"} =! QueueUnavailable: the account-security queue is closed until 08:00
> I'm sorry, Sofie: your account is locked for a security review, which only our security team can lift, and their queue is closed right now. Please call +49 30 1234 5678 after 8:00, or reply here and a colleague will contact you first thing tomorrow.

## where-is-49011 @ 0 15:30 | error=overloaded_error: Anthropic API returned 529 Overloaded; conversation dropped
user Where is my order NW-49011?
use claude-haiku-4-5
tool lookup_order {"order_id": "NW-49011"} => {"order_id": "NW-49011", "status": "shipped", "carrier": "GLS", "tracking_no": "GLS6628104"}
llm! overloaded_error: Overloaded (HTTP 529)
"""

SUPPORT_REPLAY_CODES = r"""
## replay-two-codes/$v @ $when | $opts
user Can I use two discount codes on one order?
use $model
"""
SUPPORT_REPLAY_WINDOW = r"""
## replay-sale-returns/$v @ $when | score=1
user What is your return window for sale items?
use $model
tool search_kb {"query": "returns sale items"} => [KB-104] Returns: unworn items within 30 days. [KB-109] Sale items: same 30-day window; final-sale items marked "no returns" are excluded.
> Sale items have the same 30-day return window as everything else, unless the product page marks them as final sale ("no returns").
"""
CODES_WRONG = "> Yes, you can enter several discount codes at checkout and they will all be applied to your order."
CODES_RIGHT = (
    'tool search_kb {"query": "combine discount codes"} => [KB-093] One promo code per order. '
    "Gift cards can be combined with a promo code.\n"
    "> Only one discount code per order, sorry. You can still combine that code with a gift card."
)


def build_support_runs() -> list[Run]:
    texts = [
        SUPPORT_SCRIPTS,
        variants(SUPPORT_REPLAY_CODES, ("haiku", "8 02:10", "claude-haiku-4-5", "score=0.2"))
        + CODES_WRONG,
        variants(SUPPORT_REPLAY_CODES, ("sonnet", "8 02:14", "claude-sonnet-4", "score=0.9"))
        + CODES_RIGHT,
        variants(
            SUPPORT_REPLAY_WINDOW,
            ("haiku", "8 02:12", "claude-haiku-4-5", ""),
            ("sonnet", "8 02:16", "claude-sonnet-4", ""),
        ),
    ]
    return play_all(SUPPORT_BOT, texts)
