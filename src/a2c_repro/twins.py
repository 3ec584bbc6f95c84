"""Compiled twins of Gymnasium's CartPole-v1 and Acrobot-v1 ``step``, bit for bit.

Gymnasium steps these two envs in Python at several µs per step (Acrobot's RK4 at tens of
µs); the arithmetic is a few float64 lines. The twins below are those lines, in the same
order of operations, compiled with the engine's other kernels, so a training loop can run
whole episodes in one compiled call (``one_step.run``, ``episodic.run``). What the envs
return is unchanged to the bit (``tests/test_env_twins.py`` drives both sides over millions
of steps and compares every byte):

  * the state is float64 and every operation is the IEEE one Gymnasium's NumPy scalars do
    (numba compiles without fastmath: nothing is fused into an FMA or reordered);
  * ``math.sin``/``math.cos`` compile to calls of the C library's ``sin``/``cos``, the
    functions NumPy's float64 ``np.sin``/``np.cos`` (and Python's ``math``) return the bits
    of for these arguments; numba's SVML vector library is not installed (the test checks),
    and the calls are scalar;
  * observations are the float64 values rounded once to float32, as ``np.array(..., float32)``.

Resets stay Gymnasium's: the loops call the env's own ``reset`` (its seeded ``np_random``)
and copy the state it drew (``state_of``); the twin then owns the state until the episode
ends. The time limit is the ``TimeLimit`` rule ``elapsed >= max_episode_steps``
(``envs.Stepper``). Only the registered defaults are twinned (``twin_kind`` checks every
attribute the step reads); any other env, or a changed attribute, keeps Gymnasium's step.
"""

from __future__ import annotations

import math

import numpy as np
from gymnasium.envs.classic_control.acrobot import AcrobotEnv
from gymnasium.envs.classic_control.cartpole import CartPoleEnv
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .jit import kernel

NONE, CARTPOLE, ACROBOT = 0, 1, 2

# CartPole-v1's constants, computed as CartPoleEnv.__init__ computes them
_CP_GRAVITY = 9.8
_CP_MASSPOLE = 0.1
_CP_TOTAL_MASS = _CP_MASSPOLE + 1.0
_CP_LENGTH = 0.5
_CP_PML = _CP_MASSPOLE * _CP_LENGTH
_CP_FORCE = 10.0
_CP_TAU = 0.02
_CP_THETA_MAX = 12 * 2 * math.pi / 360
_CP_X_MAX = 2.4

# Acrobot-v1's (class attributes of AcrobotEnv)
_AC_DT = 0.2
_AC_MAX_VEL_1 = 4 * math.pi
_AC_MAX_VEL_2 = 9 * math.pi

_CARTPOLE_ATTRS = {
    "gravity": _CP_GRAVITY, "masspole": _CP_MASSPOLE, "total_mass": _CP_TOTAL_MASS,
    "length": _CP_LENGTH, "polemass_length": _CP_PML, "force_mag": _CP_FORCE, "tau": _CP_TAU,
    "kinematics_integrator": "euler", "theta_threshold_radians": _CP_THETA_MAX,
    "x_threshold": _CP_X_MAX, "_sutton_barto_reward": False, "render_mode": None,
}  # fmt: skip
_ACROBOT_ATTRS = {
    "dt": _AC_DT, "LINK_LENGTH_1": 1.0, "LINK_LENGTH_2": 1.0, "LINK_MASS_1": 1.0,
    "LINK_MASS_2": 1.0, "LINK_COM_POS_1": 0.5, "LINK_COM_POS_2": 0.5, "LINK_MOI": 1.0,
    "MAX_VEL_1": _AC_MAX_VEL_1, "MAX_VEL_2": _AC_MAX_VEL_2, "AVAIL_TORQUE": [-1.0, 0.0, 1],
    "torque_noise_max": 0.0, "book_or_nips": "book", "render_mode": None,
}  # fmt: skip


def _same(value, expected) -> bool:
    if isinstance(expected, float):
        return type(value) in (float, np.float64) and float(value) == expected
    return type(value) is type(expected) and value == expected


def twin_kind(env) -> int:
    """CARTPOLE or ACROBOT when ``env`` (a made env or its base) is exactly Gymnasium's class
    with every attribute its step reads at the registered default; NONE otherwise."""
    base = env.unwrapped
    for cls, kind, attrs in ((CartPoleEnv, CARTPOLE, _CARTPOLE_ATTRS),
                             (AcrobotEnv, ACROBOT, _ACROBOT_ATTRS)):  # fmt: skip
        if type(base) is cls:
            ok = all(_same(getattr(base, k, None), v) for k, v in attrs.items())
            return kind if ok else NONE
    return NONE


@intrinsic
def _libm_pow(typingctx, x, y):
    """The C library's ``pow(x, y)``, the function NumPy's float64 scalar ``x**2`` calls
    (Acrobot squares NumPy scalars that way). Not ``x*x``: glibc's pow is within 0.52 ulp, not
    correctly rounded, and differs from the exact-rounded square for about one argument in a
    thousand. Not ``math.pow`` either: numba emits ``llvm.pow``, which LLVM rewrites to ``x*x``
    for a constant exponent 2. So the call goes to ``powf64``, glibc's alias of ``pow`` (the
    same function, same address), a name LLVM does not know and cannot rewrite."""
    if not (x == types.float64 and y == types.float64):
        return None

    def codegen(context, builder, signature, args):
        f64 = ir.DoubleType()
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(f64, [f64, f64]),
                                            "powf64")  # fmt: skip
        return builder.call(fn, args)

    return types.float64(x, y), codegen


# ------------------------------------------------------------------------------ CartPole ----
@kernel
def cartpole_step(s, action, obs):
    """CartPoleEnv.step (Euler) on the float64 state ``s`` (4,), in place; the observation
    into ``obs`` (float32). Returns (reward, terminated)."""
    x, x_dot, theta, theta_dot = s[0], s[1], s[2], s[3]
    force = _CP_FORCE if action == 1 else -_CP_FORCE
    costheta = math.cos(theta)
    sintheta = math.sin(theta)
    temp = (force + _CP_PML * (theta_dot * theta_dot) * sintheta) / _CP_TOTAL_MASS
    thetaacc = (_CP_GRAVITY * sintheta - costheta * temp) / (
        _CP_LENGTH * (4.0 / 3.0 - _CP_MASSPOLE * (costheta * costheta) / _CP_TOTAL_MASS)
    )
    xacc = temp - _CP_PML * thetaacc * costheta / _CP_TOTAL_MASS
    x = x + _CP_TAU * x_dot
    x_dot = x_dot + _CP_TAU * xacc
    theta = theta + _CP_TAU * theta_dot
    theta_dot = theta_dot + _CP_TAU * thetaacc
    s[0], s[1], s[2], s[3] = x, x_dot, theta, theta_dot
    for i in range(4):
        obs[i] = np.float32(s[i])
    terminated = x < -_CP_X_MAX or x > _CP_X_MAX or theta < -_CP_THETA_MAX or theta > _CP_THETA_MAX
    return 1.0, terminated  # reward 1 on every step, the terminal one included


# ------------------------------------------------------------------------------- Acrobot ----
@kernel
def _acrobot_dsdt(y, k):
    """AcrobotEnv._dsdt ("book" dynamics) of y = (θ1, θ2, θ̇1, θ̇2, torque) into ``k`` (5,),
    each expression in Gymnasium's order (Python evaluates ``-m2 * l1`` as ``(-m2) * l1`` and
    products left to right). Squares: ``lc2**2`` of Python floats is exact (0.25); ``x**2`` of a
    NumPy float64 is libm's ``pow(x, 2.0)`` (``_libm_pow``)."""
    m1 = 1.0
    m2 = 1.0
    l1 = 1.0
    lc1 = 0.5
    lc2 = 0.5
    I1 = 1.0
    I2 = 1.0
    g = 9.8
    a = y[4]
    theta1, theta2, dtheta1, dtheta2 = y[0], y[1], y[2], y[3]
    cos_t2 = math.cos(theta2)
    sin_t2 = math.sin(theta2)
    d1 = m1 * (lc1 * lc1) + m2 * ((l1 * l1) + (lc2 * lc2) + 2 * l1 * lc2 * cos_t2) + I1 + I2
    d2 = m2 * ((lc2 * lc2) + l1 * lc2 * cos_t2) + I2
    phi2 = m2 * lc2 * g * math.cos(theta1 + theta2 - math.pi / 2.0)
    phi1 = (
        -m2 * l1 * lc2 * _libm_pow(dtheta2, 2.0) * sin_t2
        - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin_t2
        + (m1 * lc1 + m2 * l1) * g * math.cos(theta1 - math.pi / 2)
        + phi2
    )
    ddtheta2 = (
        a + d2 / d1 * phi1 - m2 * l1 * lc2 * _libm_pow(dtheta1, 2.0) * sin_t2 - phi2
    ) / (m2 * (lc2 * lc2) + I2 - _libm_pow(d2, 2.0) / d1)
    ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
    k[0], k[1], k[2], k[3], k[4] = dtheta1, dtheta2, ddtheta1, ddtheta2, 0.0


@kernel
def _bound(x, vmax):
    """Acrobot's ``bound(x, −vmax, vmax)``: Python's ``min(max(x, −vmax), vmax)``."""
    x = max(x, -vmax)
    return min(x, vmax)


@kernel
def acrobot_step(s, action, obs):
    """AcrobotEnv.step on the float64 state ``s`` (4,), in place: one RK4 step of dt over
    the augmented state (θ1, θ2, θ̇1, θ̇2, torque), angles wrapped into [−π, π], velocities
    bounded; the observation (cos θ1, sin θ1, cos θ2, sin θ2, θ̇1, θ̇2) into ``obs`` (float32).
    Returns (reward, terminated)."""
    torque = -1.0 if action == 0 else (0.0 if action == 1 else 1.0)
    y0 = np.empty(5)
    for i in range(4):
        y0[i] = s[i]
    y0[4] = torque
    k1, k2, k3, k4 = np.empty(5), np.empty(5), np.empty(5), np.empty(5)
    y = np.empty(5)
    dt = _AC_DT - 0.0  # rk4: t = [0, dt]; dt = t[1] - t[0]
    dt2 = dt / 2.0
    _acrobot_dsdt(y0, k1)
    for i in range(5):
        y[i] = y0[i] + dt2 * k1[i]
    _acrobot_dsdt(y, k2)
    for i in range(5):
        y[i] = y0[i] + dt2 * k2[i]
    _acrobot_dsdt(y, k3)
    for i in range(5):
        y[i] = y0[i] + dt * k3[i]
    _acrobot_dsdt(y, k4)
    c = dt / 6.0
    for i in range(4):  # y0 + dt/6·(k1 + 2·k2 + 2·k3 + k4), summed left to right
        s[i] = y0[i] + c * (((k1[i] + 2.0 * k2[i]) + 2.0 * k3[i]) + k4[i])
    for i in range(2):  # wrap(x, −π, π): subtract or add 2π until inside
        diff = math.pi - -math.pi
        x = s[i]
        while x > math.pi:
            x = x - diff
        while x < -math.pi:
            x = x + diff
        s[i] = x
    s[2] = _bound(s[2], _AC_MAX_VEL_1)
    s[3] = _bound(s[3], _AC_MAX_VEL_2)
    terminated = -math.cos(s[0]) - math.cos(s[1] + s[0]) > 1.0
    obs[0] = np.float32(math.cos(s[0]))
    obs[1] = np.float32(math.sin(s[0]))
    obs[2] = np.float32(math.cos(s[1]))
    obs[3] = np.float32(math.sin(s[1]))
    obs[4] = np.float32(s[2])
    obs[5] = np.float32(s[3])
    return (0.0 if terminated else -1.0), terminated


@kernel
def twin_step(kind, s, action, obs):
    """The twin of ``kind``'s step: (reward, terminated)."""
    if kind == CARTPOLE:
        return cartpole_step(s, action, obs)
    return acrobot_step(s, action, obs)


@kernel
def steps_rows(kind, S, actions, obs, rewards, terminated):
    """One step of every row's twin (the test's many-seeds driver): state rows ``S`` (n, 4)."""
    for r in range(S.shape[0]):
        rewards[r], terminated[r] = twin_step(kind, S[r], actions[r], obs[r])


def state_of(stepper) -> np.ndarray:
    """The float64 state of a (twinnable) env, e.g. the start its reset just drew."""
    return np.asarray(stepper.env.unwrapped.state, np.float64)


def group_kind(runs) -> int:
    """The twin kind shared by every training env of every seed, or NONE: the loops twin a
    group only when every env is twinnable and time-limited."""
    kinds = {twin_kind(st.env) if st.limit else NONE for r in runs for st in r.steppers}
    return kinds.pop() if len(kinds) == 1 else NONE
