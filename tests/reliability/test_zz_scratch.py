from tests.reliability.test_billing_state_machine import Billing


def test_repro(clean_stack):
    Billing.stack = clean_stack
    state = Billing()
    state.a_customer_on_a_test_clock(card=None)
    state.buy_seats(seats=0)
    state.what_c1_holds_is_what_stripe_bills()
    state.change_the_card(card="pays")
    state.move_the_clock(days=32)
    state.move_the_clock(days=1)
    state.what_c1_holds_is_what_stripe_bills()
    state.attach_with_a_trial(plan="pro")
    state.what_c1_holds_is_what_stripe_bills()
