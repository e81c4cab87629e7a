"""The core: data, nets (eq. 1), rules as data (eq. 4), feedback families, the engine, models, training."""
