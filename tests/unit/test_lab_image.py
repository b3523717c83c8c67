# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's image recipe: extra VM packages (lab.py up --vm-package) make their own cached
image, whatever their order, and a name that is not a Debian package name is refused."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "lab"))

from labkit import image  # noqa: E402  pylint: disable=wrong-import-position
from labkit.common import LabError  # noqa: E402  pylint: disable=wrong-import-position


def test_extra_packages_make_their_own_image_whatever_their_order():
    plain = image.image_key("vm")
    assert image.image_key("vm", []) == plain
    with_extra = image.image_key("vm", ["xfsprogs", "lvm2"])
    assert with_extra != plain
    assert image.image_key("vm", ["lvm2", "xfsprogs", "lvm2"]) == with_extra
    assert image.image_key("vm", ["lvm2"]) not in (plain, with_extra)
    # a package the recipe has anyway changes nothing
    assert image.image_key("vm", ["kmod"]) == plain


def test_extra_packages_follow_the_recipe_sorted_once():
    packages = image.image_packages("vm", ["xfsprogs", "lvm2", "lvm2", "python3"])
    assert packages[:len(image.NODE_PACKAGES)] == image.NODE_PACKAGES
    assert packages[-2:] == ["lvm2", "xfsprogs"]
    assert packages.count("python3") == 1


@pytest.mark.parametrize("name", ["Bad", "lvm2;rm", "-o", "a", "../x", "lvm2 xfsprogs"])
def test_a_name_that_is_not_a_debian_package_is_refused(name):
    with pytest.raises(LabError, match="not a Debian package name"):
        image.check_packages(["lvm2", name])
    with pytest.raises(LabError, match="not a Debian package name"):
        image.build_image("vm", [name])
