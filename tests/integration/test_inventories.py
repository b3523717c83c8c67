# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every inventory shipped in inventories/ passes preflight, and its committed pictures are current.

Each inventory is loaded with Ansible's own inventory and variable managers
(in-process: one ansible-playbook run costs several seconds per inventory) and
put through the same filter chain as the preflight role: the role's defaults,
overridden by the inventory's variables, into cluster_inventory_report,
network_plan_problems and missing_roles. One inventory also runs the real
playbooks/network_plan_svg.yml end to end (preflight role included) with an
ssh stand-in that records any contact with a node.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import re

import pytest
import yaml

from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.vars.manager import VariableManager

from ansible_collections.homelab.k3s.plugins.module_utils.cluster_inventory import (
    check_cluster_inventory,
)
from ansible_collections.homelab.k3s.plugins.module_utils.collection_parts import (
    collection_roles,
    missing_roles,
)
from ansible_collections.homelab.k3s.plugins.module_utils.network_plan import network_problems
from ansible_collections.homelab.k3s.plugins.module_utils.network_plan_svg import (
    network_plan_svgs,
)
from offline_ansible import OfflineAnsible

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INVENTORIES = os.path.join(ROOT, 'inventories')
# The lab writes its own hosts.yml (not tracked); make site checks it.
GENERATED = ('lab',)
INVENTORY_DIRS = sorted(name for name in os.listdir(INVENTORIES)
                        if os.path.isdir(os.path.join(INVENTORIES, name))
                        and name not in GENERATED)
SEEDS = [name for name in INVENTORY_DIRS if name.startswith('seed')]

with open(os.path.join(ROOT, 'roles', 'preflight', 'defaults', 'main.yml')) as handle:
    PREFLIGHT_DEFAULTS = yaml.safe_load(handle)


def load(name):
    """Groups and per-host variables of an inventory, as the preflight role sees them."""
    loader = DataLoader()
    inventory = InventoryManager(loader=loader,
                                 sources=[os.path.join(INVENTORIES, name, 'hosts.yml')])
    variables = VariableManager(loader=loader, inventory=inventory)
    hostvars = dict((host.name, variables.get_vars(host=host, include_hostvars=False))
                    for host in inventory.get_hosts())
    groups = inventory.get_groups_dict()
    # run_once tasks see the variables of the first host of the play (hosts: all).
    first = hostvars[groups['all'][0]]
    settings = dict((key, first.get(key, default)) for key, default in PREFLIGHT_DEFAULTS.items())
    return groups, hostvars, settings


def preflight(name):
    """What the preflight role finds for an inventory (no facts are known)."""
    groups, hostvars, settings = load(name)
    report = check_cluster_inventory(
        groups, hostvars, server_group=settings['preflight_server_group'],
        agent_group=settings['preflight_agent_group'],
        cluster_group=settings['preflight_cluster_group'],
        embedded_etcd=settings['preflight_embedded_etcd'], strict=settings['preflight_strict'],
        required_vars=settings['preflight_required_vars'],
        node_name_var=settings['preflight_node_name_var'],
        node_ips_var=settings['preflight_node_ips_var'],
        network_var=settings['preflight_network_var'])
    problems = list(report['problems'])
    if isinstance(report['network'], dict):
        problems += network_problems(report['network'], report['node_ips'])
    missing = missing_roles(settings['preflight_expected_roles'],
                            collection_roles(os.path.join(ROOT, 'roles')))
    return report, problems, missing, settings


def test_every_inventory_is_checked():
    assert 'example' in INVENTORY_DIRS
    assert len(SEEDS) == 5, SEEDS
    for name in INVENTORY_DIRS:
        assert os.path.isfile(os.path.join(INVENTORIES, name, 'hosts.yml')), name


@pytest.mark.parametrize('name', INVENTORY_DIRS)
def test_inventory_passes_preflight(name):
    report, problems, missing, settings = preflight(name)
    assert problems == []
    assert report['warnings'] == []
    assert report['servers']
    # Every role the inventory expects but the collection lacks is named, no other.
    have = collection_roles(os.path.join(ROOT, 'roles'))
    expected = settings['preflight_expected_roles']
    assert len(missing) == len([role for role in expected if role not in have])
    for role in expected:
        assert any('homelab.k3s.%s ' % role in message for message in missing) == (
            role not in have)


@pytest.mark.parametrize('name', SEEDS)
def test_committed_pictures_are_what_the_code_draws_now(name):
    report, _problems, _missing, _settings = preflight(name)
    pictures = network_plan_svgs(report['network'], report['node_ips'], title=name)
    committed = sorted(entry for entry in os.listdir(os.path.join(INVENTORIES, name))
                       if entry.endswith('.svg'))
    assert committed == sorted('network-plan-%s.svg' % family for family in pictures), (
        'regenerate: ansible-playbook -i inventories/%s playbooks/network_plan_svg.yml' % name)
    for family, text in pictures.items():
        with open(os.path.join(INVENTORIES, name, 'network-plan-%s.svg' % family)) as handle:
            assert handle.read() == text, (
                'inventories/%s/network-plan-%s.svg is stale; regenerate: ansible-playbook '
                '-i inventories/%s playbooks/network_plan_svg.yml' % (name, family, name))


@pytest.mark.parametrize('name', SEEDS)
def test_seed_readme_shows_its_pictures_and_playbooks(name):
    with open(os.path.join(INVENTORIES, name, 'README.md')) as handle:
        readme = handle.read()
    pictures = sorted(entry for entry in os.listdir(os.path.join(INVENTORIES, name))
                      if entry.endswith('.svg'))
    for picture in pictures:
        assert '](%s)' % picture in readme, picture
    for playbook in re.findall(r'playbooks/[a-z_]+\.yml', readme):
        assert os.path.isfile(os.path.join(ROOT, playbook)), playbook
    assert 'playbooks/preflight.yml' in readme and 'playbooks/site.yml' in readme


@pytest.mark.slow
def test_picture_playbook_checks_the_inventory_and_writes_the_pictures(tmp_path):
    name = 'seed003-dual-stack'
    out = tmp_path / 'pictures'
    out.mkdir()
    result, contacts = OfflineAnsible(tmp_path).run(
        ['-i', os.path.join(INVENTORIES, name, 'hosts.yml'),
         os.path.join(ROOT, 'playbooks', 'network_plan_svg.yml'),
         '-e', 'network_plan_svg_dir=%s' % out])
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert contacts == '', contacts
    assert '1 server(s), 2 agent(s), ipv4+ipv6' in ' '.join(output.split())
    for family in ('ipv4', 'ipv6'):
        with open(os.path.join(INVENTORIES, name, 'network-plan-%s.svg' % family)) as handle:
            assert (out / ('network-plan-%s.svg' % family)).read_text() == handle.read()
    # The power cycle this seed relies on is in the collection: no missing-role notice.
    assert os.path.isdir(os.path.join(ROOT, 'roles', 'cluster_power', 'tasks'))
    assert 'is not in this version of the collection' not in output
