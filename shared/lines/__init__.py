"""One payment line at a time: read and update it (``single``), check an update
without making it (``validate``), the application check of one update
(``checking``), the lists that find a line (``lists``), the customer and
open-invoice lookups (``lookups``) and the invoices suggested for a line
(``suggestions``). Each route's use case runs in the request frame
(``shared.functions.frame``), which hands it the admitted request, the settings
and the Business Central client.

May import: ``shared.process``, ``shared.payment``, ``shared.upstream``, ``shared.http``.
"""
