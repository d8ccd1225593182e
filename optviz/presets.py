"""Presets that teach: one scene per step of the story, with what to watch.

Each :class:`Preset` is a validated :class:`~optviz.scenario.Scenario` (surface, starts, runs with
explicit colours and legend labels, steps, seed, noise) plus two or three sentences saying what to
watch. Every claim in ``watch`` was measured on the scene itself and is checked by
``tests/test_presets.py`` on the simulated numbers; where the textbook story and the run disagree
the scene was changed, or the sentence says what really happens (AdaDelta ignores the scale of the
loss but not that of :math:`\\theta`: :math:`\\varepsilon` sets its step size; AdamW lands nearer
the origin than Adam + L2, not nearer the decay-free minimum).

The story, in order:

1. SGD vs Momentum in Rosenbrock's valley (Polyak 1964).
2. Nesterov vs heavy-ball momentum: the look-ahead gradient damps the bouncing (Nesterov 1983;
   Sutskever et al. 2013).
3. Newton–Raphson goes to the saddle of :math:`x^2 - y^2`; first-order methods leave it
   (Dauphin et al. 2014).
4. AdaGrad's effective step :math:`\\gamma/\\sqrt{\\sum g^2}` only shrinks; RMSprop's
   exponential average forgets (Duchi et al. 2011; Tieleman & Hinton 2012).
5. AdaDelta has no learning rate: :math:`\\Delta\\theta = \\frac{\\mathrm{RMS}[\\Delta\\theta]}
   {\\mathrm{RMS}[g]}\\,g` is blind to the loss's scale (Zeiler 2012).
6. Adam vs AMSGrad: :math:`\\hat v_t = \\max(\\hat v_{t-1}, v_t)` never decreases (Reddi et al.
   2018).
7. Adam + L2 vs AdamW: decay inside or outside the adaptive step (Loshchilov & Hutter 2019).
8. Rprop with exact vs noisy gradients (Riedmiller & Braun 1993; Hinton's lecture 6e).
9. Diagonal vs full-matrix preconditioning on a rotated ill-conditioned quadratic (Duchi et al.
   2011; Amari 1998).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from optviz.scenario import PALETTE, RunConfig, Scenario, ScenarioError

__all__ = ["PRESETS", "Preset", "get_preset", "list_presets"]

RED, ORANGE, WHITE, CYAN = PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[4]

MAX_PRESET_STEPS = 500  # keeps the page fast
MAX_PRESET_RUNS = 4


@dataclass(frozen=True)
class Preset:
    """A scene that teaches one thing.

    ``key`` is the identifier (``"sgd_vs_momentum"``), ``title`` the menu entry, ``watch`` two or
    three plain-text sentences saying what to look at, and ``scenario`` the validated scene (runs
    with explicit colours and legend labels).
    """

    key: str
    title: str
    watch: str
    scenario: Scenario

    def __post_init__(self) -> None:
        if not self.key.isidentifier() or not self.title.strip() or not self.watch.strip():
            raise ValueError(f"preset {self.key!r}: needs an identifier key, a title and watch")
        if self.scenario != self.scenario.validated():
            raise ValueError(f"preset {self.key!r}: the scenario must be validated")
        if not 2 <= len(self.scenario.runs) <= MAX_PRESET_RUNS:
            raise ValueError(f"preset {self.key!r}: 2 to {MAX_PRESET_RUNS} runs")
        if self.scenario.steps > MAX_PRESET_STEPS:
            raise ValueError(f"preset {self.key!r}: at most {MAX_PRESET_STEPS} steps")


def _run(variant: str, hparams: Mapping[str, Any], color: str, label: str) -> RunConfig:
    return RunConfig(variant, tuple(hparams.items()), color, label)


def _preset(
    key: str,
    title: str,
    watch: str,
    surface: str,
    runs: list[RunConfig],
    starts: list[tuple[float, float]],
    steps: int,
    noise: float | None = None,
    seed: int = 0,
) -> Preset:
    scene = Scenario(
        surface=surface,
        runs=tuple(runs),
        starts=tuple(starts),
        steps=steps,
        seed=seed,
        noise=noise,
    )
    try:
        validated = scene.validated()
    except ScenarioError as exc:  # a broken preset is a bug: say which one
        raise ValueError(f"preset {key!r}: {exc}") from None
    return Preset(key, title, " ".join(watch.split()), validated)


def _build() -> dict[str, Preset]:
    presets = [
        _preset(
            "sgd_vs_momentum",
            "SGD vs Momentum in Rosenbrock's valley",
            """Both runs use the same learning rate γ = 0.001 from the classic start (−1.2, 1).
            SGD drops into the curved valley and then crawls along its almost flat floor, still
            short of the middle after 500 steps. Momentum (μ = 0.9) adds up the small, consistent
            push along the floor and slides to within 0.1 of the minimum at (1, 1).""",
            "rosenbrock",
            [
                _run("sgd", {"lr": 1e-3}, WHITE, "SGD, γ = 0.001"),
                _run("momentum", {"lr": 1e-3}, RED, "Momentum, γ = 0.001, μ = 0.9"),
            ],
            [(-1.2, 1.0)],
            500,
        ),
        _preset(
            "nesterov_vs_momentum",
            "Nesterov vs heavy-ball momentum",
            """Same learning rate (0.5) and momentum (0.9) on Matyas' narrow diagonal valley.
            Heavy-ball momentum keeps bouncing from wall to wall across the valley for some 80
            steps and overshoots the minimum further along it. Nesterov in effect takes its
            gradient at the look-ahead point θ + μv, feels the far wall before it gets there, and
            settles on the valley floor after a few bounces.""",
            "matyas",
            [
                _run("momentum", {"lr": 0.5}, RED, "Heavy ball, γ = 0.5, μ = 0.9"),
                _run("nesterov", {"lr": 0.5}, CYAN, "Nesterov, γ = 0.5, μ = 0.9"),
            ],
            [(-6.0, 2.0)],
            300,
        ),
        _preset(
            "newton_saddle",
            "Newton heads for the saddle of x² − y²",
            """Newton's step −H⁻¹∇f aims at the point where the local quadratic model is flat,
            whatever its kind: on x² − y² that is the saddle at the origin, reached in a single
            full step (here scaled by γ = 0.1 so you can watch it slide in) and never left.
            SGD is pulled towards the saddle too, but the tiny offset in y grows by a factor
            1 + 2γ every step until it escapes downhill; Adam's sign-like steps escape at once.""",
            "saddle",
            [
                _run("newton", {"lr": 0.1}, RED, "Newton, γ = 0.1"),
                _run("sgd", {"lr": 0.01}, ORANGE, "SGD, γ = 0.01"),
                _run("adam", {"lr": 0.005}, WHITE, "Adam, γ = 0.005"),
            ],
            [(-1.5, 0.01)],
            250,
        ),
        _preset(
            "adagrad_vs_rmsprop",
            "AdaGrad's steps die out, RMSprop's do not",
            """Both take the same first step (AdaGrad γ = 0.2; RMSprop γ = 0.02, because its average
            of g² starts at (1 − α)g²). AdaGrad divides by the square root of the sum of all past
            g², which the steep walls make huge and which never shrinks, so it freezes at the
            entrance of the valley. RMSprop's exponential average forgets the walls, so its steps
            stay alive and it keeps walking along the floor towards (1, 1).""",
            "rosenbrock",
            [
                _run("adagrad", {"lr": 0.2}, WHITE, "AdaGrad, γ = 0.2"),
                _run("rmsprop", {"lr": 0.02}, CYAN, "RMSprop, γ = 0.02"),
            ],
            [(-0.8, 1.5), (-1.5, 1.6)],
            500,
        ),
        _preset(
            "adadelta_no_lr",
            "AdaDelta needs no learning rate",
            """AdaDelta's step RMS[Δθ]/RMS[g] · g comes in units of θ and is blind to the scale of
            the loss (γ = 1 just applies the rule): it walks from (1.3, −0.7) into the global
            minimum at (0, −1), and multiplying the formula by 100 leaves its path unchanged. SGD
            has no good learning rate here, where the gradient is about 40 000 at the start and
            tiny near the minimum: γ = 1e-5 crawls and γ = 3e-5 jumps into the local minimum at
            (−0.6, −0.4). The size of AdaDelta's first steps, √(ε/(1 − ρ)) ≈ 0.003, is set by ε,
            so it starts slowly.""",
            "goldstein_price",
            [
                _run("adadelta", {}, CYAN, "AdaDelta, no learning rate (γ = 1)"),
                _run("sgd", {"lr": 1e-5}, WHITE, "SGD, γ = 1e-5"),
                _run("sgd", {"lr": 3e-5}, ORANGE, "SGD, γ = 3e-5"),
            ],
            [(1.3, -0.7)],
            500,
        ),
        _preset(
            "adam_vs_amsgrad",
            "Adam vs AMSGrad: the running max of v",
            """Both use γ = 0.05 and β = (0.9, 0.99). The steep walls met on the way down give
            large gradients; Adam's v forgets them within a hundred steps or so, so its steps grow
            again on the flat valley floor and it reaches (1, 1). AMSGrad divides by the largest
            v ever seen, which never decreases, so its steps stay small and it is still far from
            the minimum after 500 steps: the price of its convergence guarantee.""",
            "rosenbrock",
            [
                _run("adam", {"lr": 0.05, "betas": (0.9, 0.99)}, RED, "Adam, β₂ = 0.99"),
                _run("amsgrad", {"lr": 0.05, "betas": (0.9, 0.99)}, WHITE, "AMSGrad, β₂ = 0.99"),
            ],
            [(-1.5, 2.0)],
            500,
        ),
        _preset(
            "adam_l2_vs_adamw",
            "Adam + L2 vs AdamW: where the weight decay goes",
            """Both use γ = 0.1 and λ = 0.1. Adam + L2 adds λθ to the gradient, so decay and
            gradient are divided by √v̂ together and it settles at the minimum of f + λ‖θ‖²/2,
            near (0.89, 0.79). AdamW shrinks θ by γλθ outside the adaptive step: while √v̂
            still remembers the steep walls the gradient part of its step is small and the decay
            is not, so it ends much nearer the origin, even further from (1, 1).""",
            "rosenbrock",
            [
                _run("adam_l2", {"lr": 0.1}, RED, "Adam + L2, γ = 0.1, λ = 0.1"),
                _run("adamw", {"lr": 0.1}, CYAN, "AdamW, γ = 0.1, λ = 0.1"),
            ],
            [(0.5, 1.5), (1.5, 0.5)],
            500,
        ),
        _preset(
            "rprop_noise",
            "Rprop needs exact gradients",
            """Rprop steps by the sign of the gradient and grows each step size while the sign
            stays and halves it when the sign flips. With noisy gradients (σ = 2 here) the signs
            flip at random, the step sizes collapse and Rprop freezes wherever it is, while RMSprop
            (Rprop's fix for minibatches) and Adam keep closing in. Set the noise to 0 to see
            Rprop converge fast.""",
            "noisy_quadratic",
            [
                _run("rprop", {}, RED, "Rprop, first step 0.01"),
                _run("rmsprop", {"lr": 0.03}, ORANGE, "RMSprop, γ = 0.03"),
                _run("adam", {"lr": 0.05}, WHITE, "Adam, γ = 0.05"),
            ],
            [(-2.5, 2.0), (2.5, -1.0)],
            300,
            noise=2.0,
        ),
        _preset(
            "full_vs_diagonal",
            "Diagonal vs full-matrix preconditioning on a rotated bowl",
            """Booth's function is the bowl 9u² + v² turned by 45° about its minimum (1, 3), so
            its steep and shallow directions are the diagonals, not the axes. Diagonal AdaGrad
            rescales x and y separately and takes wide detours along the diagonals; full-matrix
            AdaGrad and the (empirical-Fisher) natural gradient precondition with a 2 × 2 matrix,
            do not care how the bowl is turned and head almost straight for the minimum.""",
            "booth",
            [
                _run("adagrad", {"lr": 1.0}, RED, "AdaGrad (diagonal), γ = 1"),
                _run("adagrad_full", {"lr": 1.0}, ORANGE, "Full-matrix AdaGrad, γ = 1"),
                _run(
                    "natural_gradient",
                    {"lr": 5.0, "damping": 50.0},
                    WHITE,
                    "Natural gradient, γ = 5, λ = 50",
                ),
            ],
            [(-8.0, 2.0), (9.0, 0.0), (-3.0, -8.0)],
            300,
        ),
    ]
    return {p.key: p for p in presets}


#: The presets in story order (1..9).
PRESETS: dict[str, Preset] = _build()


def list_presets() -> list[str]:
    """Preset keys in story order."""
    return list(PRESETS)


def get_preset(key: str) -> Preset:
    """The preset ``key``; KeyError lists the known keys."""
    try:
        return PRESETS[key]
    except (KeyError, TypeError):
        raise KeyError(f"unknown preset {key!r}; known: {', '.join(PRESETS)}") from None
