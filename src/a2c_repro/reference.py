"""The notebooks' own code, one seed at a time: the benchmark's baseline and the tests' oracle.

The classes below are the notebooks' ``Actor``/``Critic``/``A2C`` (one-step) and
``ActorCritic`` (episodic) with only what is needed to run them headless on Gymnasium 1.x:
no TensorBoard writer, no render window, ``utils.init_weights`` replaced by PyTorch's default
init (it is unpublished), and the device fixed to the CPU. Their arithmetic is untouched,
including the episodic notebook's (T, T) broadcast in its actor loss.

The training loops are generators that yield one ``NotebookEpisode`` per training episode:
the bookkeeping they add (return, length, action counts, the losses ``train`` already
returns, the evaluation episode's return) only reads values the notebooks compute, so the
arithmetic and the order of random draws are the notebooks'. ``notebook_engine`` writes
these records as the pipeline's per-episode CSVs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import gymnasium as gym
import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.distributions import Categorical


@dataclass(frozen=True)
class NotebookEpisode:
    """What one training episode of a notebook's loop produced."""

    ret: float  # sum of the rewards (a Python float, as the notebooks would sum them)
    length: int
    actor_loss: float  # one_step: mean over the episode's updates; episodic: its one update
    critic_loss: float
    majority_action_frac: float  # share of the episode's actions that are its most frequent
    eval_return: float | None  # the one-step notebook's evaluation episode after this one


# ---------------------------------------------------------------- one_step_a2c_cartpole ----
class Actor(nn.Module):
    def __init__(self, obs_features: int, num_actions: int, hidden=(128, 64)) -> None:
        super().__init__()
        self.actor = nn.Sequential(
            nn.Linear(obs_features, hidden[0]), nn.ReLU(),
            nn.Linear(hidden[0], hidden[1]), nn.ReLU(),
            nn.Linear(hidden[1], num_actions),
        )  # fmt: skip

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.actor(obs)


class Critic(nn.Module):
    def __init__(self, obs_features: int, hidden=(128, 64)) -> None:
        super().__init__()
        self.critic = nn.Sequential(
            nn.Linear(obs_features, hidden[0]), nn.ReLU(),
            nn.Linear(hidden[0], hidden[1]), nn.ReLU(),
            nn.Linear(hidden[1], 1),
        )  # fmt: skip

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.critic(obs)


class OneStepA2C:
    def __init__(
        self, obs_features: int, num_actions: int, gamma: float = 0.99, max_grad_norm: float = 0.0
    ) -> None:
        self.gamma = gamma
        # Not in the notebook: optional torch.nn.utils.clip_grad_norm_ on each network before
        # its optimiser step, the oracle for the engine's `max_grad_norm` (collapse study).
        self.max_grad_norm = max_grad_norm
        self.actor = Actor(obs_features, num_actions)
        self.actor_optimizer = optim.Adam(self.actor.parameters(), lr=0.001)
        self.critic = Critic(obs_features)
        self.critic_optimizer = optim.Adam(self.critic.parameters(), lr=0.001)

    def select_action(self, obs: torch.Tensor):
        logits = self.actor(obs)
        dist = Categorical(logits=logits)
        action = dist.sample()
        log_pi = dist.log_prob(action)
        return action, log_pi

    def log_pi_of(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """log π(a|s) for a given action (tests replay the engine's actions)."""
        return Categorical(logits=self.actor(obs)).log_prob(action)

    def train(self, obs, next_obs, reward, terminated, log_pi):
        state_value = self.critic(obs)
        with torch.no_grad():
            next_state_value = self.critic(next_obs)
        target_state_value = reward + (1 - terminated) * self.gamma * next_state_value
        advantage = target_state_value - state_value.detach()
        actor_loss = -(log_pi * advantage).mean()
        critic_loss = F.mse_loss(state_value, target_state_value)
        nets = ((actor_loss, self.actor_optimizer, self.actor),
                (critic_loss, self.critic_optimizer, self.critic))  # fmt: skip
        for loss, opt, net in nets:
            opt.zero_grad()
            loss.backward()
            if self.max_grad_norm > 0:
                nn.utils.clip_grad_norm_(net.parameters(), self.max_grad_norm)
            opt.step()
        return actor_loss.item(), critic_loss.item()


def one_step_notebook_episodes(
    env_id: str, episodes: int, torch_seed: int, env_seed: int, eval_env_seed: int,
    gamma: float = 0.99, max_grad_norm: float = 0.0,
) -> Iterator[NotebookEpisode]:  # fmt: skip
    """The one-step notebook's training loop (with its evaluation every 50 episodes)."""
    torch.manual_seed(torch_seed)
    env, inference_env = gym.make(env_id), gym.make(env_id)
    env.reset(seed=env_seed)
    inference_env.reset(seed=eval_env_seed)
    agent = OneStepA2C(env.observation_space.shape[0], env.action_space.n, gamma, max_grad_norm)
    for episode in range(episodes):
        obs, _ = env.reset()
        terminated = False
        ret, length, counts, a_loss, c_loss = 0.0, 0, Counter(), 0.0, 0.0
        while not terminated:
            action, log_pi = agent.select_action(torch.from_numpy(obs))
            next_obs, reward, terminated, truncated, _ = env.step(action.numpy())
            terminated = terminated | truncated
            losses = agent.train(torch.from_numpy(obs), torch.from_numpy(next_obs),
                                 torch.tensor(reward),
                                 torch.tensor(terminated, dtype=torch.float32), log_pi)  # fmt: skip
            obs = next_obs
            ret, length = ret + float(reward), length + 1
            counts[int(action)] += 1
            a_loss, c_loss = a_loss + losses[0], c_loss + losses[1]
        eval_return = None
        if episode % 50 == 0:
            obs, _ = inference_env.reset()
            terminated = False
            eval_return = 0.0
            while not terminated:
                with torch.no_grad():
                    action, _ = agent.select_action(torch.from_numpy(obs))
                obs, reward, terminated, truncated, _ = inference_env.step(action.numpy())
                terminated = terminated | truncated
                eval_return += float(reward)
        yield NotebookEpisode(ret, length, a_loss / length, c_loss / length,
                              max(counts.values()) / length, eval_return)  # fmt: skip
    env.close()
    inference_env.close()


def run_one_step_notebook(env_id: str, episodes: int, seed: int) -> int:
    """The one-step notebook's run (torch and env seeded with ``seed``, its evaluation env
    with ``seed + 1``). Returns the number of training agent-steps."""
    return sum(e.length for e in one_step_notebook_episodes(env_id, episodes, seed, seed, seed + 1))


# ------------------------------------------------------------- episodic_a2c_lunarlander ----
GAMA = 0.97
LR = 1e-3


class EpisodicActor(nn.Module):
    def __init__(self, in_dims: int, out_dims: int):
        super().__init__()
        hidden_dim = 128
        self.layer = nn.Sequential(
            nn.Linear(in_dims, hidden_dim), nn.ReLU(),
            nn.Linear(hidden_dim, hidden_dim), nn.ReLU(),
            nn.Linear(hidden_dim, out_dims), nn.Softmax(dim=-1),
        )  # fmt: skip

    def forward(self, x):
        return self.layer(x)


class EpisodicCritic(nn.Module):
    def __init__(self, in_dims: int):
        super().__init__()
        hidden_dim = 128
        self.layer = nn.Sequential(
            nn.Linear(in_dims, hidden_dim), nn.ReLU(),
            nn.Linear(hidden_dim, hidden_dim), nn.ReLU(),
            nn.Linear(hidden_dim, 1),
        )  # fmt: skip

    def forward(self, x):
        return self.layer(x)


class ActorCritic(nn.Module):
    def __init__(self, in_dims: int, out_dims: int, gamma: float = GAMA):
        super().__init__()
        self.gamma = gamma
        self.actor = EpisodicActor(in_dims, out_dims)
        self.critic = EpisodicCritic(in_dims)
        self.actor_optim = optim.Adam(self.actor.parameters(), lr=LR)
        self.critic_optim = optim.Adam(self.critic.parameters(), lr=LR)
        self.rs, self.vs, self.log_probs = [], [], []

    def store(self, r, v, log_prob):
        self.rs.append(r)
        self.vs.append(v)
        self.log_probs.append(log_prob)

    def forward(self, state, action=None):
        action_probs = self.actor(state).squeeze()
        if action is None:
            action = torch.multinomial(action_probs, 1)
        log_prob = torch.log(action_probs[action])
        v = self.critic(state)
        return action.item(), v, log_prob

    def train_episode(self):
        rs = torch.tensor(self.rs, dtype=torch.float32)
        vs = torch.stack(self.vs).squeeze()
        next_vs = torch.cat((vs[1:].clone().detach(), torch.tensor([0.0]))) * self.gamma
        log_probs = torch.stack(self.log_probs)
        G = (rs + next_vs - vs).detach()
        actor_loss = -torch.sum(G * log_probs)  # (T,) * (T,1) broadcasts to (T,T)
        critic_loss = F.mse_loss(rs + next_vs, vs)
        self.actor_optim.zero_grad()
        actor_loss.backward()
        self.actor_optim.step()
        self.critic_optim.zero_grad()
        critic_loss.backward()
        self.critic_optim.step()
        self.rs, self.vs, self.log_probs = [], [], []
        return actor_loss.item(), critic_loss.item()


def episodic_notebook_episodes(
    env_id: str, episodes: int, torch_seed: int, env_seed: int, gamma: float = GAMA
) -> Iterator[NotebookEpisode]:
    """The episodic notebook's ``run_episode`` loop (it runs no evaluation episodes)."""
    torch.manual_seed(torch_seed)
    env = gym.make(env_id)
    env.reset(seed=env_seed)
    agent = ActorCritic(env.observation_space.shape[0], env.action_space.n, gamma)
    for _ in range(episodes):
        state, _ = env.reset()
        ret, counts = 0.0, Counter()
        while True:
            a, v, log_prob = agent(torch.from_numpy(state))
            next_s, r, terminated, truncated, _ = env.step(a)
            agent.store(r, v, log_prob)
            state = next_s
            ret += float(r)
            counts[a] += 1
            if terminated or truncated:
                length = len(agent.rs)
                a_loss, c_loss = agent.train_episode()
                break
        yield NotebookEpisode(ret, length, a_loss, c_loss, max(counts.values()) / length, None)
    env.close()


def run_episodic_notebook(env_id: str, episodes: int, seed: int) -> int:
    """The episodic notebook's run (torch and env seeded with ``seed``).
    Returns the number of training agent-steps."""
    return sum(e.length for e in episodic_notebook_episodes(env_id, episodes, seed, seed))
