"""Training-image augmentation: a random crop of the image padded with black pixels, and a
left-right flip, drawn per image from a given generator (so that a seeded epoch draws the same
whatever ran before it) and applied to a batch in one gather."""

from __future__ import annotations

from dataclasses import dataclass

import torch

PAD = 2  # pixels of padding each side: a shift of up to 2 pixels either way


@dataclass(frozen=True)
class Draws:
    """Each image's crop offset (row, column) in the padded image, and whether it is flipped."""

    shifts: torch.Tensor  # [N, 2] int64 in [0, 2 * PAD]
    flips: torch.Tensor  # [N] bool

    def part(self, rows: slice) -> Draws:
        """The draws of the images in `rows`."""
        return Draws(self.shifts[rows], self.flips[rows])


def draw(kind: str, n: int, generator: torch.Generator) -> Draws | None:
    """The augmentation `kind` ("none", "crop", "crop_flip") of n images; None for "none"."""
    if kind == "none":
        return None
    shifts = torch.randint(0, 2 * PAD + 1, (n, 2), generator=generator)
    flips = (torch.rand(n, generator=generator) < 0.5 if kind == "crop_flip"
             else torch.zeros(n, dtype=torch.bool))
    return Draws(shifts, flips)


def apply(x: torch.Tensor, draws: Draws, blank: float) -> torch.Tensor:
    """The images x [B, C, H, W] cropped and flipped as `draws` (B of them) say, the padding
    filled with `blank` (a black pixel's input value)."""
    b, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (PAD, PAD, PAD, PAD), value=blank)
    shifts, flips = draws.shifts.to(x.device), draws.flips.to(x.device)
    rows = shifts[:, :1] + torch.arange(h, device=x.device)  # [B, H]
    across = torch.arange(w, device=x.device)
    cols = shifts[:, 1:] + torch.where(flips[:, None], across.flip(0), across)  # [B, W]
    batch = torch.arange(b, device=x.device)[:, None, None]
    # [B, H, W, C] from advanced indices on dims 0, 2, 3 around the channel slice
    return padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
