from app.domain.schedule import Visit, service_start, walk


def test_an_early_van_waits_for_the_window_and_a_late_one_serves_at_once() -> None:
    assert service_start(100, [(200, 300)]) == 200
    assert service_start(250, [(200, 300)]) == 250
    assert service_start(400, [(200, 300)]) == 400
    assert service_start(400, []) == 400


def test_between_two_windows_the_van_waits_for_the_second() -> None:
    assert service_start(350, [(200, 300), (500, 600)]) == 500
    assert service_start(700, [(200, 300), (500, 600)]) == 700


def test_the_walk_drives_waits_and_serves_stop_after_stop() -> None:
    windows = {1: [(0, 1000)], 2: [(500, 900)]}
    visits = list(
        walk(0, 100, [1, 2], lambda a, b, t: t + 60, windows.__getitem__, lambda stop: 30)
    )
    assert visits == [Visit(1, 160, 160, 190), Visit(2, 250, 500, 530)]


def test_a_drive_that_never_arrives_ends_the_walk() -> None:
    visits = list(
        walk(
            0,
            0.0,
            [1, 2, 3],
            lambda a, b, t: None if b == 3 else t + 10.0,
            lambda stop: [],
            lambda stop: 5.0,
        )
    )
    assert [v.stop for v in visits] == [1, 2]
