"""What Tradier's API says, in pure Python: its vocabulary, its order rules and its rate-limit buckets.

The broker client and the local Tradier server both speak this wire, and the local server may
import only the domain, so the one definition of each lives here: ``enums`` (string enums for
side, order type, duration, order class, account type and order status), ``order_requests``
(typed option, OCO and modify requests with the one set of validation rules) and
``rate_limits`` (quota buckets and sizes). The broker's response models build on them.
"""
