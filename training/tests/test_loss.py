import torch

from dare.loss import batch_hard_soft_margin, pairwise_euclidean


def test_pairwise_matches_cdist() -> None:
    x = torch.randn(10, 5)
    d, ref = pairwise_euclidean(x), torch.cdist(x, x)
    off = ~torch.eye(10, dtype=torch.bool)
    # The diagonal suffers float cancellation (|x|² + |x|² - 2x·x); only its smallness matters.
    assert torch.allclose(d[off], ref[off], atol=1e-4) and d.diagonal().max() < 1e-2


def test_batch_hard_picks_hardest_pairs() -> None:
    # Two identities on a line: anchor 0 at 0; its positive at 3; the nearest negative at 1.
    x = torch.tensor([[0.0], [3.0], [1.0], [10.0]])
    labels = torch.tensor([0, 0, 1, 1])
    loss, violated = batch_hard_soft_margin(x, labels)
    # anchors: 0: softplus(3-1); 1: softplus(3-2); 2: softplus(9-1); 3: softplus(9-7)
    expected = torch.nn.functional.softplus(torch.tensor([2.0, 1.0, 8.0, 2.0])).mean()
    assert torch.isclose(loss, expected) and violated == 1.0


def test_separated_clusters_give_small_loss_and_gradients_flow() -> None:
    x = torch.tensor([[0.0], [0.1], [50.0], [50.1]], requires_grad=True)
    loss, violated = batch_hard_soft_margin(x, torch.tensor([0, 0, 1, 1]))
    loss.backward()
    assert loss < 1e-6 + 0.1 and violated == 0.0 and x.grad is not None and torch.isfinite(x.grad).all()
