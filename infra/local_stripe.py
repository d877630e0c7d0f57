"""localstripe (a stateful Stripe fake) for the local stack: `python infra/local_stripe.py PORT`.

What differs from `localstripe --port PORT`, and why:

- It listens on 127.0.0.1 only (localstripe binds every interface, `::`), on the port infra/stack
  chose for this run.
- Its objects live in memory only. localstripe pickles its whole store to the one fixed file
  /tmp/localstripe.pickle after every write (and loads it at start): parallel runs would share and
  overwrite each other's state, and each write costs O(store size).
- Three Stripe behaviours localstripe 1.15.10 lacks, which Rota relies on, are added as Stripe
  documents them (https://docs.stripe.com/api/subscriptions):
  - a subscription created with a trial is `trialing`, with `trial_start` and `trial_end` set
    (localstripe leaves it `incomplete` with no trial dates);
  - a subscription update accepts `proration_behavior=create_prorations` (localstripe refuses the
    parameter, yet already prorates every plan change that way), and sends
    `customer.subscription.updated` (localstripe sends no event on updates);
  - a subscription item may name its price as `price` (localstripe only knows `plan`; Stripe takes
    a plan's ID as a price ID, and localstripe has no Prices API).
Everything else is localstripe's own behaviour.
"""

import sys

from aiohttp import web
from localstripe import resources
from localstripe.errors import UserError
from localstripe.resources import Event, Subscription
from localstripe.server import app

# Memory only (see above).
resources.Store.dump_to_disk = lambda self: None


def price_as_plan(items):
    """Stripe's `items[n][price]` as localstripe's `items[n][plan]`."""
    for item in items or []:
        if isinstance(item, dict) and "price" in item:
            item.setdefault("plan", item.pop("price"))
    return items


# The event localstripe queued last (queued, not sent: delivery waits for the request to end).
queued = []
queue_webhook = resources.schedule_webhook


def schedule_webhook(event):
    queued[:] = [event]
    queue_webhook(event)


resources.schedule_webhook = schedule_webhook

subscription_init = Subscription.__init__


def init_subscription(self, *args, items=None, **kwargs):
    subscription_init(self, *args, items=price_as_plan(items), **kwargs)
    days = resources.try_convert_to_int(kwargs.get("trial_period_days"))
    trial_end = resources.try_convert_to_int(kwargs.get("trial_end"))
    if self.status == "incomplete" and (days is not None or trial_end is not None):
        self.status = "trialing"
        self.trial_start = self.start_date
        self.trial_end = trial_end or self.start_date + days * 86400
        # Its `customer.subscription.created` event, queued last, describes it as it is now.
        if queued and queued[0].type == "customer.subscription.created":
            queued[0].data = {"object": self._export()}


Subscription.__init__ = init_subscription

subscription_update = Subscription._update


def update_subscription(self, proration_behavior=None, items=None, **kwargs):
    if proration_behavior not in (None, "create_prorations"):
        raise UserError(400, "Only proration_behavior=create_prorations is simulated locally")
    return subscription_update(self, items=price_as_plan(items), **kwargs)


Subscription._update = update_subscription

subscription_api_update = Subscription._api_update.__func__


@classmethod
def api_update_subscription(cls, id, **data):
    subscription = subscription_api_update(cls, id, **data)
    schedule_webhook(Event("customer.subscription.updated", subscription))
    return subscription


Subscription._api_update = api_update_subscription

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
