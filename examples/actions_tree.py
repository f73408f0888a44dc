"""
Nested and failing actions: a small checkout task, logged to stdout as JSON
lines.  Pipe it into the tree view:

    python examples/actions_tree.py | txcausal tree
"""

import sys

from txcausal import log_call, log_message, start_action, start_task, to_file


@log_call(include_args=["sku"])
def price(sku: str, catalogue: dict) -> float:
    return catalogue[sku]


def checkout(cart: list, catalogue: dict) -> float:
    with start_task(action_type="shop:checkout", items=len(cart)) as action:
        total = 0.0
        for sku in cart:
            try:
                total += price(sku, catalogue)
            except KeyError:
                log_message(message_type="shop:checkout:unknown_item", sku=sku)
        with start_action(action_type="shop:charge", amount=total):
            if total > 100:
                raise ValueError("over the card limit")
        action.add_success_fields(total=total)
        return total


def main() -> None:
    to_file(sys.stdout)
    catalogue = {"apple": 0.5, "pear": 0.75, "piano": 950.0}
    checkout(["apple", "pear", "plum"], catalogue)
    try:
        checkout(["piano"], catalogue)
    except ValueError:
        pass


if __name__ == "__main__":
    main()
