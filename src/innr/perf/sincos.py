"""sin and cos of float32 arrays from one range reduction: the polynomial that both compiled
builds of the fit step use (inductor's through `sincos`; innr.perf.native compiles these
constants into its kernel)."""

from __future__ import annotations

import math

import torch

# sin r = r + r^3 S(r^2), cos r = 1 + r^2 C(r^2) on |r| <= pi/2: least-squares minimax fits,
# within 6e-9 (relative) and 3e-10 of sin and cos before float32 rounding
SIN_COEFFICIENTS = (-0.16666659712791443, 0.00833306647837162, -0.00019809608056675643,
                    2.605793952170643e-06)
COS_COEFFICIENTS = (-0.5, 0.04166664183139801, -0.00138884037733078, 2.4761891836533323e-05,
                    -2.607719125080621e-07)
# pi in three parts (Cody & Waite): k * part is exact in float32 for |k| < 2^16
PI_PARTS = (3.140625, 9.67502593994140625e-4, 1.509957990978376432e-7)


def sincos(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(sin x, cos x) from one range reduction; within 3e-7 of torch.sin/cos for |x| < 1e4.

    x = k pi + r with |r| <= pi/2, then sin x = (-1)^k sin r and cos x = (-1)^k cos r.
    Elementwise ops only, so inductor emits one vectorised loop for both.
    """
    s_, c_ = SIN_COEFFICIENTS, COS_COEFFICIENTS
    k = torch.round(x * (1 / math.pi))
    r = x - k * PI_PARTS[0] - k * PI_PARTS[1] - k * PI_PARTS[2]
    z = r * r
    s = r + r * z * (s_[0] + z * (s_[1] + z * (s_[2] + z * s_[3])))
    c = 1 + z * (c_[0] + z * (c_[1] + z * (c_[2] + z * (c_[3] + z * c_[4]))))
    # (-1)^k in floats, not by flipping sign bits: the same bits, but inductor emits a bit-cast
    # as a scalar loop
    sign = 1 - 2 * (k - 2 * torch.floor(0.5 * k))
    return s * sign, c * sign


def exact_sincos(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.sin(x), torch.cos(x)
