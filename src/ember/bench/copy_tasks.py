"""Answers that copy their input: what speculative decoding by prompt lookup speeds up.

Shared by `ember bench speculation` (one engine, drafts on and off) and `ember bench
engine --peer` (Ember beside another server, each with its own speculation setting), so
both measure the same answers:

- **quote**: a 300-word passage repeated back word for word;
- **edit**: a 60-line function written again with one variable renamed (most lines
  are copied);
- **story**: a new story, where nothing can be copied (what drafts cost when they miss).
"""

from __future__ import annotations

from dataclasses import dataclass

PASSAGE = (
    "The canal was dug by hand in the winter of 1821, when the river froze early and the "
    "mill owners could no longer wait for barges to float their cloth downstream. Four "
    "hundred men worked in shifts through the short days, cutting a channel eleven miles "
    "long from the weir below the old bridge to the harbour at Saltmarsh. They lined its "
    "banks with clay carried from the brickworks, and they built six locks of grey stone, "
    "each with a keeper's cottage beside it and a garden where the keeper's family grew "
    "beans and potatoes. When the first boat passed through in April, the whole town came "
    "out to watch. A band played on the towpath, the children ran beside the horse that "
    "pulled the boat, and the mill owners stood on the lock gates in their best coats, "
    "counting the bales as they went by. For forty years the canal carried wool, coal, "
    "timber and grain, and the keepers opened the gates at every hour of the day and "
    "night. Then the railway came. The line from the coast reached the town in 1862, and "
    "within ten years the barges were gone. The locks silted up, the cottages were sold, "
    "and the towpath became a place where people walked their dogs on Sunday afternoons. "
    "Today a group of volunteers is restoring the lower three locks. They meet every "
    "Saturday morning, clear the brambles from the banks, and repair the stonework with "
    "lime mortar mixed to the old recipe. They hope that by next summer a small boat will "
    "once again be able to travel from the weir to the second lock, and that visitors will "
    "come to see how the town once sent its cloth to the sea."
)

FUNCTION = '''def summarize_orders(orders, tax_rate, discount_codes):
    """Add up a list of orders and report the totals by customer."""
    subtotal = 0.0
    by_customer = {}
    skipped = []
    for order in orders:
        if order.get("cancelled"):
            skipped.append(order["id"])
            continue
        customer = order["customer"]
        amount = 0.0
        for item in order["items"]:
            price = item["price"] * item["quantity"]
            if item.get("taxable", True):
                price = price * (1 + tax_rate)
            amount += price
        code = order.get("discount")
        if code in discount_codes:
            amount = amount * (1 - discount_codes[code])
        if amount <= 0:
            skipped.append(order["id"])
            continue
        subtotal += amount
        by_customer.setdefault(customer, 0.0)
        by_customer[customer] += amount
    largest = None
    for customer, amount in by_customer.items():
        if largest is None or amount > by_customer[largest]:
            largest = customer
    average = subtotal / len(by_customer) if by_customer else 0.0
    lines = []
    lines.append("Orders: %d" % len(orders))
    lines.append("Skipped: %d" % len(skipped))
    lines.append("Subtotal: %.2f" % subtotal)
    lines.append("Average per customer: %.2f" % average)
    if largest is not None:
        lines.append("Largest customer: %s" % largest)
    for customer in sorted(by_customer):
        share = by_customer[customer] / subtotal if subtotal else 0.0
        lines.append("  %s: %.2f (%.0f%%)" % (customer, by_customer[customer], share * 100))
    report = {
        "subtotal": round(subtotal, 2),
        "average": round(average, 2),
        "largest": largest,
        "customers": len(by_customer),
        "skipped": skipped,
        "lines": lines,
    }
    if subtotal > 10000:
        report["note"] = "large volume"
    elif subtotal == 0:
        report["note"] = "no sales"
    else:
        report["note"] = "normal"
    for warning in check_limits(subtotal, by_customer):
        lines.append("Warning: " + warning)
    if skipped:
        lines.append("Skipped orders: " + ", ".join(str(s) for s in skipped))
    report["text"] = "\\n".join(lines)
    return report
'''


@dataclass(frozen=True)
class Task:
    name: str
    prompt: str
    max_tokens: int
    new_text: str = ""  # what an edit writes anew: its uses in the answer are counted


TASKS = (
    Task("quote", f"{PASSAGE}\n\nRepeat the text above exactly, word for word.", 480),
    Task(
        "edit",
        f"```python\n{FUNCTION}```\n\nRewrite this function so that it uses `orders_total` "
        "instead of `subtotal` as the variable name.",
        900,
        new_text="orders_total",
    ),
    Task("story", "Write a short story about a fox who learns to swim.", 240),
)


COPY_TASKS = tuple(t for t in TASKS if t.name != "story")
