"""A stylised map of Belgium: employment hubs where people live and vacancies are.

Coordinates are km east (x) and north (y) of Brussels, close enough to the real ones that
distances between cities are realistic (Antwerp-Brussels ~41 km, Liège-Brussels ~90 km). Locations
are synthetic: a person's point is drawn around a hub, never a real address.
"""

from __future__ import annotations

import numpy as np

from audit.data.schema import REGIONS

#: (name, region, x_km, y_km, weight of job seekers, weight of vacancies)
HUBS: tuple[tuple[str, str, float, float, float, float], ...] = (
    ("brussels", "brussels", 0.0, 0.0, 1.0, 1.0),
    ("antwerp", "flanders", 5.0, 41.0, 0.26, 0.24),
    ("ghent", "flanders", -46.0, 27.0, 0.16, 0.16),
    ("bruges", "flanders", -88.0, 45.0, 0.06, 0.07),
    ("leuven", "flanders", 24.0, 4.0, 0.06, 0.09),
    ("hasselt", "flanders", 66.0, 22.0, 0.09, 0.09),
    ("kortrijk", "flanders", -77.0, -5.0, 0.08, 0.10),
    ("mechelen", "flanders", 4.0, 22.0, 0.08, 0.08),
    ("aalst", "flanders", -25.0, 6.0, 0.07, 0.06),
    ("genk", "flanders", 80.0, 25.0, 0.08, 0.06),
    ("ronse", "flanders", -52.0, -17.0, 0.06, 0.05),
    ("liege", "wallonia", 90.0, -12.0, 0.24, 0.22),
    ("charleroi", "wallonia", 5.0, -52.0, 0.22, 0.18),
    ("namur", "wallonia", 35.0, -50.0, 0.09, 0.12),
    ("mons", "wallonia", -45.0, -50.0, 0.10, 0.09),
    ("la_louviere", "wallonia", -20.0, -45.0, 0.08, 0.07),
    ("tournai", "wallonia", -75.0, -35.0, 0.06, 0.07),
    ("verviers", "wallonia", 115.0, -17.0, 0.06, 0.05),
    ("wavre", "wallonia", 23.0, -20.0, 0.05, 0.09),
    ("arlon", "wallonia", 130.0, -150.0, 0.04, 0.04),
    ("marche", "wallonia", 80.0, -80.0, 0.04, 0.03),
)

HUB_X = np.array([h[2] for h in HUBS])
HUB_Y = np.array([h[3] for h in HUBS])
HUB_REGION = np.array([REGIONS.index(h[1]) for h in HUBS])


def hub_probabilities(column: int) -> np.ndarray:
    """(n_regions, n_hubs) table: P(hub | region), from the job-seeker (4) or vacancy (5) weight."""
    weights = np.array([h[column] for h in HUBS])
    table = np.zeros((len(REGIONS), len(HUBS)))
    for r in range(len(REGIONS)):
        mask = np.equal(HUB_REGION, r)
        table[r, mask] = weights[mask] / weights[mask].sum()
    return table


def distance_to_nearest_hub(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Km to the nearest hub; a running minimum keeps memory at O(n) for 10^7 people."""
    best = np.full(x.shape, np.inf)
    for hx, hy in zip(HUB_X, HUB_Y, strict=True):
        np.minimum(best, np.hypot(x - hx, y - hy), out=best)
    return best
